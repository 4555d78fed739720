import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LIMITS, type RelayLimits } from '../../../lib/archive/relay';

// Literal defaults (the lint rule wants literals); lib/archive/relay.ts holds the same values for callers
// outside n8n, and a unit test checks the two agree.

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

export function readLimits(ctx: IExecuteFunctions): RelayLimits {
	return {
		maxItems: ctx.getNodeParameter('maxItems', 0, DEFAULT_LIMITS.maxItems) as number,
		maxDurationMs:
			(ctx.getNodeParameter('maxSeconds', 0, DEFAULT_LIMITS.maxDurationMs / 1000) as number) * 1000,
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
