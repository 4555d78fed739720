import type { INodeProperties } from 'n8n-workflow';

import { checkPartitions } from '../../lib/amqp/partitions';
import { DEFAULT_TOPOLOGY, type Topology } from '../../lib/amqp/topology';

// Literal defaults (the lint rule wants literals); lib/amqp/topology.ts holds the same values for callers
// outside n8n, and a unit test checks the two agree.

/** Where the relay and the replay publish, where the queue trigger consumes, and what they declare. */
export const topologyFields: INodeProperties[] = [
	{
		displayName: 'Exchange',
		name: 'exchange',
		type: 'string',
		default: 'checkout.events',
		description: 'Durable direct exchange the messages are published to',
	},
	{
		displayName: 'Routing Key',
		name: 'routingKey',
		type: 'string',
		default: 'checkout.event',
	},
	{
		displayName: 'Partitions',
		name: 'partitions',
		type: 'number',
		default: 1,
		typeOptions: { minValue: 1, maxValue: 64 },
		description:
			"Queues the events are spread over by lead: each lead's events stay in one queue, in order, while different leads' run at the same time. Use the same number in the sweep, the processor's trigger and re-drive; drain the queues before changing it. Above 1, Mercado Pago notifications must come through the Notification URL of Create Payment Link (it carries the lead).",
	},
	{
		displayName: 'Declare Topology',
		name: 'declareTopology',
		type: 'boolean',
		default: true,
		description:
			'Whether to declare the exchange, a quorum queue with a delivery limit and a dead-letter queue before publishing (idempotent)',
	},
	{
		displayName: 'Queue',
		name: 'queue',
		type: 'string',
		default: 'checkout.events',
		displayOptions: { show: { declareTopology: [true] } },
	},
	{
		displayName: 'Dead-Letter Exchange',
		name: 'deadLetterExchange',
		type: 'string',
		default: 'checkout.events.dlx',
		displayOptions: { show: { declareTopology: [true] } },
	},
	{
		displayName: 'Dead-Letter Queue',
		name: 'deadLetterQueue',
		type: 'string',
		default: 'checkout.events.dlq',
		displayOptions: { show: { declareTopology: [true] } },
	},
	{
		displayName: 'Delivery Limit',
		name: 'deliveryLimit',
		type: 'number',
		default: 5,
		typeOptions: { minValue: 1 },
		description: 'Deliveries of one message before it goes to the dead-letter queue',
		displayOptions: { show: { declareTopology: [true] } },
	},
];

/** `get` reads a parameter: executing nodes and trigger nodes read parameters with different signatures. */
export function readTopology(get: <T>(name: string, fallback: T) => T): {
	topology: Topology;
	declare: boolean;
	partitions: number;
} {
	return {
		declare: get('declareTopology', true),
		partitions: checkPartitions(Number(get('partitions', 1))),
		topology: {
			exchange: get('exchange', DEFAULT_TOPOLOGY.exchange),
			routingKey: get('routingKey', DEFAULT_TOPOLOGY.routingKey),
			queue: get('queue', DEFAULT_TOPOLOGY.queue),
			deadLetterExchange: get('deadLetterExchange', DEFAULT_TOPOLOGY.deadLetterExchange),
			deadLetterQueue: get('deadLetterQueue', DEFAULT_TOPOLOGY.deadLetterQueue),
			deliveryLimit: get('deliveryLimit', DEFAULT_TOPOLOGY.deliveryLimit),
		},
	};
}
