import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import type { S3Archive } from '../../../../lib/archive/archive';

const properties: INodeProperties[] = [
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		description: 'Object key, as returned by Store or List',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['archive'], operation: ['get'] } }, properties);

export async function execute(this: IExecuteFunctions, archive: S3Archive): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const object = await archive.get(this.getNodeParameter('key', i) as string);
		const { body, ...meta } = object;
		const item: INodeExecutionData = { json: { ...meta, bytes: body.length }, pairedItem: { item: i } };
		if (object.bodyFormat === 'json') item.json.body = JSON.parse(body.toString('utf8'));
		item.binary = { data: await this.helpers.prepareBinaryData(body, object.key.split('/').pop(), object.contentType) };
		out.push(item);
	}
	return out;
}
