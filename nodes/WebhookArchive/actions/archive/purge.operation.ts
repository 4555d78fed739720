import {
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { runOnce } from '../../../shared/operation';
import { withNodeArchive } from '../../../shared/transport/s3';

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

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['purge'] } },
	properties,
);

const DAY_MS = 24 * 60 * 60 * 1000;

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const days = this.getNodeParameter('olderThanDays', 0) as number;
	const before = Date.now() - days * DAY_MS;
	return [
		await runOnce(this, async () => {
			const result = await withNodeArchive(this, async (archive) => archive.purgeRelayed(before));
			return [{ json: { ...result, before: new Date(before).toISOString() } }];
		}),
	];
}
