/**
 * What one n8n process remembers of a Pipedrive account between executions, to save calls: the deal
 * field keys (they never change once created). A cache, never a lock: what must hold across processes
 * (the lead → deal map, claims, the rules run) is in lib/pipedrive/shared.ts.
 */
import type { FieldKeys } from '../fields';
import { clearProcessLocalShared } from '../shared';

export const FIELD_KEYS_TTL_MS = 10 * 60_000;
export const fieldKeyCache = new Map<string, { fields: FieldKeys; at: number }>();

/** For tests: forget what this process learnt about accounts, and its own shared state (a restart). */
export function clearCaches(): void {
	fieldKeyCache.clear();
	clearProcessLocalShared();
}
