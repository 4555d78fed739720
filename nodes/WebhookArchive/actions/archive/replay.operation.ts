import {
	updateDisplayOptions,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { connectAmqp } from '../../../../lib/amqp/connection';
import { ConfirmPublisher } from '../../../../lib/amqp/confirmPublisher';
import { declareTopology } from '../../../../lib/amqp/topology';
import { RelayFailures } from '../../../../lib/archive/aside';
import { replayRange } from '../../../../lib/archive/relay';
import { partitionKeyOf } from '../../../../lib/checkout/message';
import { runOnce } from '../../../shared/operation';
import { readTopology, topologyFields } from '../../../shared/topology';
import { nodeAmqpSettings } from '../../../shared/transport/amqp';
import { withNodeArchive } from '../../../shared/transport/s3';
import { limitFields, readLimits, readTime } from '../common.descriptions';

const relayedOnly = { show: { replayWhat: ['relayed'] } };

const properties: INodeProperties[] = [
	{
		displayName: 'Replay',
		name: 'replayWhat',
		type: 'options',
		default: 'relayed',
		options: [
			{
				name: 'Relayed Objects in a Time Range',
				value: 'relayed',
				description: 'Publish them again, marked as replayed so that consumers run them again',
			},
			{
				name: 'Objects Moved Aside',
				value: 'aside',
				description:
					'Give the objects the relay moved aside back to it (after fixing what failed): its next run sends them',
			},
		],
	},
	{
		displayName: 'Event IDs',
		name: 'asideIds',
		type: 'string',
		default: '',
		placeholder: 'evt_3PxY9zA2eZvKYlo2',
		description:
			'Comma-separated event IDs or object keys to bring back; empty for every object moved aside',
		displayOptions: { show: { replayWhat: ['aside'] } },
	},
	{
		displayName: 'From',
		name: 'from',
		type: 'dateTime',
		default: '',
		required: true,
		description: 'Replay relayed objects received at or after this time',
		displayOptions: relayedOnly,
	},
	{
		displayName: 'To',
		name: 'to',
		type: 'dateTime',
		default: '',
		description: 'And at or before this time (empty: now)',
		displayOptions: relayedOnly,
	},
	...[...topologyFields, ...limitFields].map((field) => ({
		...field,
		displayOptions: {
			...field.displayOptions,
			show: { ...field.displayOptions?.show, replayWhat: ['relayed'] },
		},
	})),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['replay'] } },
	properties,
);

/** Gives objects moved aside back to the relay (lib/archive/aside.ts). */
async function bringBack(ctx: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const which = String(ctx.getNodeParameter('asideIds', 0, ''))
		.split(',')
		.map((id) => id.trim())
		.filter(Boolean);
	return [
		await runOnce(ctx, async () =>
			withNodeArchive(ctx, async (archive) => {
				const back = await new RelayFailures(archive).bringBack(which);
				return [{ json: { broughtBack: back.length, objects: back.map((r) => ({ ...r })) } }];
			}),
		),
	];
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	if (this.getNodeParameter('replayWhat', 0, 'relayed') === 'aside') return await bringBack(this);
	const fromMs = readTime(this, 'from');
	if (fromMs === undefined)
		throw new NodeOperationError(this.getNode(), '"From" must be a date and time', {
			itemIndex: 0,
		});
	const toMs = readTime(this, 'to') ?? Date.now();
	const { topology, declare, partitions } = readTopology(
		(name, fallback) => this.getNodeParameter(name, 0, fallback) as typeof fallback,
	);
	const limits = readLimits(this);
	return [
		await runOnce(this, async () =>
			withNodeArchive(this, async (archive) => {
				const connection = await connectAmqp(await nodeAmqpSettings(this));
				try {
					if (declare) await declareTopology(connection, topology, partitions);
					const publisher = await ConfirmPublisher.open(connection);
					try {
						const report = await replayRange(
							archive,
							publisher,
							{ ...topology, partitions, partitionKey: partitionKeyOf },
							{ fromMs, toMs },
							limits,
						);
						return [
							{
								json: {
									...report,
									from: new Date(fromMs).toISOString(),
									to: new Date(toMs).toISOString(),
								},
							},
						];
					} finally {
						await publisher.close();
					}
				} finally {
					await connection.close().catch(() => undefined);
				}
			}),
		),
	];
}
