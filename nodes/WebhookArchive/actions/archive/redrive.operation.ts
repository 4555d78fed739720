import {
	updateDisplayOptions,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { connectAmqp } from '../../../../lib/amqp/connection';
import { redriveDeadLetters } from '../../../../lib/amqp/redrive';
import { partitionKeyOf } from '../../../../lib/checkout/message';
import { declareTopology } from '../../../../lib/amqp/topology';
import { runOnce } from '../../../shared/operation';
import { readTopology, topologyFields } from '../../../shared/topology';
import { nodeAmqpSettings } from '../../../shared/transport/amqp';

const properties: INodeProperties[] = [
	{
		displayName:
			'Moves dead-lettered messages back to the main queue once the cause is fixed (a bad token, a deleted field). They go to the end of the queue with their attempts renewed; the checkout state compares event times, so arriving late does no harm.',
		name: 'redriveNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Messages',
		name: 'redriveWhich',
		type: 'options',
		default: 'all',
		options: [
			{ name: 'All', value: 'all' },
			{ name: 'By Message ID', value: 'byId', description: 'The event IDs (message IDs) to move' },
		],
	},
	{
		displayName: 'Message IDs',
		name: 'messageIds',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'evt_3PxY9zA2eZvKYlo2, mp-123456789-approved',
		description: 'Comma-separated message IDs (the event or lead revision IDs) to move back',
		displayOptions: { show: { redriveWhich: ['byId'] } },
	},
	{
		displayName: 'Max Messages',
		name: 'redriveMax',
		type: 'number',
		default: 1000,
		typeOptions: { minValue: 1 },
		description: 'Moved in one run at most',
	},
	...topologyFields,
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['redrive'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { topology, declare, partitions } = readTopology(
		(name, fallback) => this.getNodeParameter(name, 0, fallback) as typeof fallback,
	);
	const byId = this.getNodeParameter('redriveWhich', 0, 'all') === 'byId';
	const messageIds = byId
		? String(this.getNodeParameter('messageIds', 0, ''))
				.split(',')
				.map((id) => id.trim())
				.filter(Boolean)
		: undefined;
	if (byId && !messageIds?.length)
		throw new NodeOperationError(this.getNode(), 'Give at least one message ID, or choose All');
	const max = Math.max(1, Number(this.getNodeParameter('redriveMax', 0, 1000)));
	return [
		await runOnce(this, async () => {
			const connection = await connectAmqp(await nodeAmqpSettings(this));
			try {
				if (declare) await declareTopology(connection, topology, partitions);
				const report = await redriveDeadLetters(connection, topology, {
					messageIds,
					max,
					partitions,
					partitionKey: partitionKeyOf,
				});
				return [
					{ json: { ...report, deadLetterQueue: topology.deadLetterQueue, queue: topology.queue } },
				];
			} finally {
				await connection.close().catch(() => undefined);
			}
		}),
	];
}
