import {
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { RelayFailures } from '../../../../lib/archive/aside';
import type { ArchiveState } from '../../../../lib/archive/keys';
import { runOnce } from '../../../shared/operation';
import { withNodeArchive } from '../../../shared/transport/s3';
import { readTime } from '../common.descriptions';

const properties: INodeProperties[] = [
	{
		displayName: 'State',
		name: 'state',
		type: 'options',
		default: 'pending',
		options: [
			{ name: 'Pending', value: 'pending', description: 'Stored, not yet confirmed by the broker' },
			{ name: 'Relayed', value: 'relayed', description: 'Confirmed by the broker' },
			{
				name: 'Moved Aside',
				value: 'aside',
				description:
					'Pending objects the relay failed on too often (with the reason), skipped until Re-Drive brings them back',
			},
		],
	},
	{ displayName: 'From', name: 'from', type: 'dateTime', default: '' },
	{ displayName: 'To', name: 'to', type: 'dateTime', default: '' },
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		default: 50,
		typeOptions: { minValue: 1 },
		description: 'Max number of results to return',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['list'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const state = this.getNodeParameter('state', 0) as ArchiveState | 'aside';
	const limit = this.getNodeParameter('limit', 0) as number;
	const range = {
		fromMs: readTime(this, 'from'),
		toMs: readTime(this, 'to'),
		pageSize: Math.min(1000, limit),
	};
	return [
		await runOnce(this, async () =>
			withNodeArchive(this, async (archive) => {
				if (state === 'aside')
					return (await new RelayFailures(archive).listAside(limit)).map((record) => ({
						json: { ...record, state: 'aside' },
					}));
				const out: INodeExecutionData[] = [];
				for await (const page of archive.walk(state, range)) {
					for (const o of page) {
						if (out.length >= limit) return out;
						out.push({
							json: {
								key: o.key,
								state,
								receivedAt: new Date(o.receivedAtMs).toISOString(),
								eventId: o.safeEventId,
								size: o.size,
							},
						});
					}
				}
				return out;
			}),
		),
	];
}
