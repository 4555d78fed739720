import { updateDisplayOptions, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import type { S3Archive } from '../../../../lib/archive/archive';

const properties: INodeProperties[] = [
	{
		displayName: 'Older Than (Days)',
		name: 'olderThanDays',
		type: 'number',
		default: 90,
		typeOptions: { minValue: 0 },
		description:
			'Relayed objects received more than this many days ago are deleted with their ID markers (retention of personal data). Pending objects are never purged.',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['archive'], operation: ['purge'] } }, properties);

const DAY_MS = 24 * 60 * 60 * 1000;

export async function execute(this: IExecuteFunctions, archive: S3Archive): Promise<INodeExecutionData[]> {
	const days = this.getNodeParameter('olderThanDays', 0) as number;
	const before = Date.now() - days * DAY_MS;
	const result = await archive.purgeRelayed(before);
	return [{ json: { ...result, before: new Date(before).toISOString() }, pairedItem: { item: 0 } }];
}
