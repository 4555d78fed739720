/**
 * Which of the messages a consumer holds runs next: the first, in delivery order, that is due and has no
 * earlier message of its key still held. A message waiting for its retry therefore holds back the later
 * messages of its own key (a lead's events stay in order) and nothing else (other leads go on). Pure.
 */
export interface Scheduled {
	/** What the message is ordered by (its lead); messages of one key run in delivery order. */
	key: string;
	/** Not to run before this time (ms): its retry's backoff. */
	notBefore: number;
}

export type NextStep<T> = { run: T } | { waitUntil: number } | { idle: true };

export function nextToRun<T extends Scheduled>(held: readonly T[], now: number): NextStep<T> {
	const blocked = new Set<string>();
	let soonest = Number.POSITIVE_INFINITY;
	for (const message of held) {
		if (blocked.has(message.key)) continue;
		blocked.add(message.key);
		if (message.notBefore <= now) return { run: message };
		soonest = Math.min(soonest, message.notBefore);
	}
	return Number.isFinite(soonest) ? { waitUntil: soonest } : { idle: true };
}
