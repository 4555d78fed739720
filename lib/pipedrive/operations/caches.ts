/**
 * What one n8n process remembers of a Pipedrive account between executions, to save calls: the deal
 * field keys (they never change once created) and each lead's deal id (it never changes; a deleted deal
 * shows up as a 404 and falls back to the search). A cache, never a lock: every decision that must hold
 * across processes is made on Pipedrive's own data (see markers.ts).
 */
import type { FieldKeys } from '../fields';

// Field keys never change once created, and a lead's deal id never changes: caching them keeps a payment
// event at two calls. A deleted deal shows up as a 404 and falls back to the search.
export const FIELD_KEYS_TTL_MS = 10 * 60_000;
export const fieldKeyCache = new Map<string, { fields: FieldKeys; at: number }>();
const LEAD_DEALS_KEPT = 10_000;
export const leadDealCache = new Map<string, number>();

export const leadKey = (account: string, leadId: string) => `${account} ${leadId}`;

export function rememberDeal(account: string, leadId: string, dealId: number): void {
	const key = leadKey(account, leadId);
	leadDealCache.delete(key);
	leadDealCache.set(key, dealId);
	if (leadDealCache.size > LEAD_DEALS_KEPT)
		leadDealCache.delete(leadDealCache.keys().next().value as string);
}

/** For tests: forget what this process learnt about accounts. */
export function clearCaches(): void {
	fieldKeyCache.clear();
	leadDealCache.clear();
}
