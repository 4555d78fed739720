/**
 * Moves dead-lettered messages back to the main queue, after an operator fixed what made them fail: all
 * of them, or those with the given message ids. Each message is published to the main exchange with its
 * content, id and headers (the broker's death records and delivery count removed, so it starts with its
 * full attempts), and taken off the dead-letter queue only once the broker confirmed the copy. A crash in
 * between leaves it in both queues: the consumer's effects are idempotent by event id, so the copy is
 * harmless. Messages not asked for are returned to the dead-letter queue. No n8n.
 */
import type { ChannelModel, ConsumeMessage } from 'amqplib';

import { ConfirmPublisher } from './confirmPublisher';
import { requireMessageKey, routingKeyForKey, type MessageKey } from './partitions';
import type { Topology } from './topology';

export interface RedriveOptions {
	/** Only these message ids (looked for among the first 1,000 dead letters); all when absent or empty. */
	messageIds?: string[];
	/** At most this many moved in one run. */
	max: number;
	/** The run ends when the dead-letter queue has delivered nothing for this long. */
	idleMs?: number;
	confirmTimeoutMs?: number;
	/** The main queue's partitions (lib/amqp/partitions.ts): each message goes back to its lead's. */
	partitions?: number;
	/** What a message is partitioned by (lib/checkout/message's partitionKeyOf); needed with partitions. */
	partitionKey?: MessageKey;
}

export interface RedriveReport {
	moved: number;
	movedIds: string[];
	/** Looked at and left in the dead-letter queue (not asked for). */
	kept: number;
	/** Asked for by id, and not found in the dead-letter queue. */
	notFound: string[];
}

const SEARCH_WINDOW = 1000;

/** Headers the broker (or the consumer, with its reason) adds on the way to the dead-letter queue; a re-driven message starts afresh without them. */
const BROKER_HEADERS =
	/^x-(death|first-death-|last-death-|delivery-count|dead-letter-reason$|dead-lettered-at$)/;

export async function redriveDeadLetters(
	connection: ChannelModel,
	topology: Topology,
	options: RedriveOptions,
): Promise<RedriveReport> {
	const wanted = new Set((options.messageIds ?? []).map((id) => id.trim()).filter(Boolean));
	const partitions = options.partitions ?? 1;
	const keyOf = requireMessageKey(partitions, options.partitionKey);
	const report: RedriveReport = { moved: 0, movedIds: [], kept: 0, notFound: [] };
	const publisher = await ConfirmPublisher.open(connection, {
		confirmTimeoutMs: options.confirmTimeoutMs,
	});
	const channel = await connection.createChannel();
	let failure: Error | undefined;
	channel.on('error', (error: Error) => (failure = error));
	// A consumer (quorum queues refuse basic.get with single-active-consumer on some versions). Messages not
	// asked for are held unacked until the end, so the search looks at up to SEARCH_WINDOW dead letters a run.
	await channel.prefetch(SEARCH_WINDOW);
	const held: ConsumeMessage[] = [];
	let lastArrival = Date.now();
	let chain = Promise.resolve();
	let done = false;
	const { consumerTag } = await channel.consume(topology.deadLetterQueue, (message) => {
		if (!message || done) return;
		lastArrival = Date.now();
		chain = chain.then(async () => {
			const id = message.properties.messageId as string | undefined;
			const take =
				!done &&
				report.moved < options.max &&
				(wanted.size === 0 || (id !== undefined && wanted.has(id)));
			if (!take) {
				held.push(message);
				report.kept++;
				return;
			}
			const headers = Object.fromEntries(
				Object.entries((message.properties.headers ?? {}) as Record<string, unknown>).filter(
					([name]) => !BROKER_HEADERS.test(name),
				),
			);
			const routingKey = routingKeyForKey(topology.routingKey, partitions, () =>
				keyOf(message.content, id ?? ''),
			);
			const { confirmed } = await publisher.publish(topology.exchange, routingKey, {
				content: message.content,
				messageId: id ?? '',
				contentType: message.properties.contentType ?? 'application/json',
				timestamp:
					typeof message.properties.timestamp === 'number'
						? message.properties.timestamp * 1000
						: undefined,
				headers: { ...headers, 'x-redriven-at': new Date().toISOString() },
			});
			await confirmed;
			channel.ack(message);
			report.moved++;
			if (id) report.movedIds.push(id);
			if (report.moved >= options.max) done = true;
		});
		chain.catch((error: unknown) => {
			failure ??= error instanceof Error ? error : new Error(String(error));
			done = true;
		});
	});
	const idleMs = options.idleMs ?? 1000;
	while (!done && !failure && Date.now() - lastArrival < idleMs)
		await new Promise((r) => setTimeout(r, 50));
	await channel.cancel(consumerTag).catch(() => undefined);
	await chain.catch(() => undefined);
	for (const message of held) channel.nack(message, false, true);
	await channel.close().catch(() => undefined);
	await publisher.close();
	if (failure)
		throw new Error(
			`Re-drive stopped after ${report.moved} messages: ${failure.message}. The rest stay in the dead-letter queue.`,
		);
	report.notFound = [...wanted].filter((id) => !report.movedIds.includes(id));
	return report;
}
