import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { DEFAULT_TOPOLOGY, type Topology } from '../../../lib/amqp/topology';
import { DEFAULT_LIMITS, type RelayLimits } from '../../../lib/archive/relay';

// Literal defaults (the lint rule wants literals); lib/amqp/topology.ts and lib/archive/relay.ts hold the
// same values for callers outside n8n, and a unit test checks the two agree.

/** Where the relay and the replay publish, and what they declare. */
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

export const limitFields: INodeProperties[] = [
	{
		displayName: 'Max Items per Run',
		name: 'maxItems',
		type: 'number',
		default: 10000,
		typeOptions: { minValue: 1 },
	},
	{
		displayName: 'Max Seconds per Run',
		name: 'maxSeconds',
		type: 'number',
		default: 50,
		typeOptions: { minValue: 1 },
		description: 'The run starts no new page after this long; keep it below the schedule interval',
	},
	{
		displayName: 'Page Size',
		name: 'pageSize',
		type: 'number',
		default: 250,
		typeOptions: { minValue: 1, maxValue: 1000 },
		description: 'Objects listed and published per page: what one run holds in memory at a time',
	},
];

export function readTopology(ctx: IExecuteFunctions): { topology: Topology; declare: boolean } {
	const get = <T>(name: string, fallback: T) => ctx.getNodeParameter(name, 0, fallback) as T;
	return {
		declare: get('declareTopology', true),
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

export function readLimits(ctx: IExecuteFunctions): RelayLimits {
	return {
		maxItems: ctx.getNodeParameter('maxItems', 0, DEFAULT_LIMITS.maxItems) as number,
		maxDurationMs: (ctx.getNodeParameter('maxSeconds', 0, DEFAULT_LIMITS.maxDurationMs / 1000) as number) * 1000,
		pageSize: ctx.getNodeParameter('pageSize', 0, DEFAULT_LIMITS.pageSize) as number,
		fetchConcurrency: DEFAULT_LIMITS.fetchConcurrency,
	};
}

/** A date parameter (ISO string or empty) as epoch ms. */
export function readTime(ctx: IExecuteFunctions, name: string, itemIndex = 0): number | undefined {
	const value = ctx.getNodeParameter(name, itemIndex, '') as string;
	if (!value) return undefined;
	const ms = Date.parse(value);
	return Number.isNaN(ms) ? undefined : ms;
}
