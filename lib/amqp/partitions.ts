/**
 * Per-lead partitions: the relay sends each message to one of N queues by a hash of its lead, and the
 * queue trigger consumes every queue with one message in flight each. Different leads' events then run
 * at the same time (on queue-mode workers), while one lead's events stay in one queue, in order, one at a
 * time: what the Pipedrive operations need (they read and write a lead's deal, and a lead's capture and
 * its first payment event must not both create its deal).
 *
 * N = 1 is the single queue of before, with its own name and routing key, so nothing changes for a
 * pipeline that does not ask for partitions. Changing N moves leads between queues: drain first
 * (docs/scaling.md, "Partitions").
 */
import { createHash } from 'node:crypto';

/** A queue and the routing key that binds it: all a partition needs of the topology (lib/amqp/topology.ts). */
export interface QueueRoute {
	queue: string;
	routingKey: string;
}

export const MAX_PARTITIONS = 64;

export function checkPartitions(n: number): number {
	if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS)
		throw new Error(`Partitions must be a whole number from 1 to ${MAX_PARTITIONS}, got ${n}`);
	return n;
}

/** Which of `n` partitions a key belongs to: stable across processes and releases (the first 4 bytes of its SHA-256). */
export function partitionOf(key: string, n: number): number {
	if (n === 1) return 0;
	return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0) % n;
}

/** The routing key of partition `i` of `n` (the count is in the name, so that queues of another N never mix). */
export function partitionRoutingKey(routingKey: string, i: number, n: number): string {
	return n === 1 ? routingKey : `${routingKey}.p${i}-of-${n}`;
}

/** The queue and routing key of partition `i` of `n`; partition 0 of 1 is the topology's own queue. */
export function partitionQueue(t: QueueRoute, i: number, n: number): QueueRoute {
	return {
		queue: n === 1 ? t.queue : `${t.queue}.p${i}-of-${n}`,
		routingKey: partitionRoutingKey(t.routingKey, i, n),
	};
}

/**
 * How a message is keyed for partitions and per-key order: given by the caller (the pack's nodes give
 * lib/checkout/message's `partitionKeyOf`), so that this layer never reads message bodies.
 */
export type MessageKey = (content: Buffer, messageId: string) => string;

/** The routing key a message of `key` goes out with: the topology's own for one partition, else its partition's. */
export function routingKeyForKey(routingKey: string, n: number, key: () => string): string {
	return n === 1 ? routingKey : partitionRoutingKey(routingKey, partitionOf(key(), n), n);
}

/** The key function a partitioned target needs; one partition needs none. */
export function requireMessageKey(n: number, keyOf: MessageKey | undefined): MessageKey {
	if (keyOf) return keyOf;
	if (n === 1) return (_content, messageId) => `event:${messageId}`;
	throw new Error(`${n} partitions need a message key function to route by`);
}

export function partitionQueues(t: QueueRoute, n: number): QueueRoute[] {
	return Array.from({ length: checkPartitions(n) }, (_, i) => partitionQueue(t, i, n));
}
