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
import { replayRange } from '../../../../lib/archive/relay';
import { partitionKeyOf } from '../../../../lib/checkout/message';
import { runOnce } from '../../../shared/operation';
import { readTopology, topologyFields } from '../../../shared/topology';
import { nodeAmqpSettings } from '../../../shared/transport/amqp';
import { withNodeArchive } from '../../../shared/transport/s3';
import { limitFields, readLimits, readTime } from '../common.descriptions';

const properties: INodeProperties[] = [
	{
		displayName: 'From',
		name: 'from',
		type: 'dateTime',
		default: '',
		required: true,
		description: 'Replay relayed objects received at or after this time',
	},
	{
		displayName: 'To',
		name: 'to',
		type: 'dateTime',
		default: '',
		description: 'And at or before this time (empty: now)',
	},
	...topologyFields,
	...limitFields,
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['replay'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
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
