import {
	NodeOperationError,
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { perItem } from '../../../shared/operation';
import { withNodeArchive } from '../../../shared/transport/s3';

const properties: INodeProperties[] = [
	{
		displayName: 'Look Up By',
		name: 'lookUpBy',
		type: 'options',
		default: 'key',
		options: [
			{ name: 'Key', value: 'key' },
			{
				name: 'Event ID',
				value: 'eventId',
				description: 'Pending or relayed; a comma-separated list tries each in turn',
			},
		],
	},
	{
		displayName: 'Key',
		name: 'key',
		type: 'string',
		default: '',
		required: true,
		description: 'Object key, as returned by Store or List',
		displayOptions: { show: { lookUpBy: ['key'] } },
	},
	{
		displayName: 'Event ID',
		name: 'eventId',
		type: 'string',
		default: '',
		required: true,
		displayOptions: { show: { lookUpBy: ['eventId'] } },
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['get'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	// With "On Error: continue (using error output)", a missing object goes to the error output.
	return await withNodeArchive(this, async (archive) => [
		await perItem(this, async (i) => {
			let object;
			if (this.getNodeParameter('lookUpBy', i, 'key') === 'eventId') {
				const ids = String(this.getNodeParameter('eventId', i))
					.split(',')
					.map((id) => id.trim())
					.filter(Boolean);
				for (const id of ids) if ((object = await archive.findByEventId(id))) break;
				if (!object)
					throw new NodeOperationError(
						this.getNode(),
						`No archived object for event ID ${ids.join(' or ') || '(none given)'}`,
						{ itemIndex: i },
					);
			} else {
				object = await archive.get(this.getNodeParameter('key', i) as string);
			}
			const { body, ...meta } = object;
			const item: INodeExecutionData = { json: { ...meta, bytes: body.length } };
			if (object.bodyFormat === 'json') item.json.body = JSON.parse(body.toString('utf8'));
			item.binary = {
				data: await this.helpers.prepareBinaryData(
					body,
					object.key.split('/').pop(),
					object.contentType,
				),
			};
			return item;
		}),
	]);
}
