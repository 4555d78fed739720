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

/** The routing key of the partition a message body belongs to. */
export function routingKeyForBody(
	routingKey: string,
	n: number,
	body: Buffer | string,
	eventId: string,
): string {
	return n === 1
		? routingKey
		: partitionRoutingKey(routingKey, partitionOf(partitionKeyOf(body, eventId), n), n);
}

export function partitionQueues(t: QueueRoute, n: number): QueueRoute[] {
	return Array.from({ length: checkPartitions(n) }, (_, i) => partitionQueue(t, i, n));
}

/**
 * The key a message is partitioned by, read from its body: the lead it belongs to (a lead capture's
 * `leadId`, a payment event's `leadRef`), or, for a gateway claim whose lead is only known once the
 * gateway is asked (a Mercado Pago notification), the lead the intake was told to route it by
 * (`partitionKey`), else its payment. A body with none of these (not JSON, not the pack's) goes by its
 * event id: it is alone in its queue's order, which is all such a message can ask for.
 */
export function partitionKeyOf(body: Buffer | string, eventId: string): string {
	let parsed: unknown;
	try {
		parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
	} catch {
		return `event:${eventId}`;
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return `event:${eventId}`;
	const o = parsed as Record<string, unknown>;
	const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
	const lead = text(o.leadRef) ?? text(o.leadId) ?? text(o.partitionKey);
	if (lead) return `lead:${lead}`;
	const confirm =
		o.confirm && typeof o.confirm === 'object' ? (o.confirm as Record<string, unknown>) : undefined;
	const claimLead = text(confirm?.leadRef);
	if (claimLead) return `lead:${claimLead}`;
	const payment = text(confirm?.paymentId);
	if (payment) return `payment:${text(o.provider) ?? 'gateway'}:${payment}`;
	return `event:${eventId}`;
}
