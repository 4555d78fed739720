/**
 * The exchange and queues the pipeline needs, declared idempotently.
 *
 * The main queue is a quorum queue (replicated, durable) with a delivery limit and a dead-letter
 * exchange, so a message that keeps failing ends in the dead-letter queue instead of looping, and with
 * single-active-consumer, so that several consumers still process one message at a time, in order.
 */
import type { ChannelModel } from 'amqplib';

import { partitionQueues } from './partitions';

export interface Topology {
	exchange: string;
	routingKey: string;
	queue: string;
	deadLetterExchange: string;
	deadLetterQueue: string;
	/** Deliveries before a message is dead-lettered (quorum queues count redeliveries). */
	deliveryLimit: number;
}

export const DEFAULT_TOPOLOGY: Topology = {
	exchange: 'checkout.events',
	routingKey: 'checkout.event',
	queue: 'checkout.events',
	deadLetterExchange: 'checkout.events.dlx',
	deadLetterQueue: 'checkout.events.dlq',
	deliveryLimit: 5,
};

export function queueArguments(t: Topology): Record<string, unknown> {
	return {
		'x-queue-type': 'quorum',
		'x-dead-letter-exchange': t.deadLetterExchange,
		'x-dead-letter-routing-key': t.deadLetterQueue,
		'x-delivery-limit': t.deliveryLimit,
		'x-single-active-consumer': true,
	};
}

/**
 * Declares everything on a channel of its own: a declaration that conflicts with an existing queue or
 * exchange (406 PRECONDITION_FAILED) closes the channel it was sent on, and the error then names what
 * differs instead of leaving a dead channel behind.
 */
export async function declareTopology(
	connection: ChannelModel,
	t: Topology,
	partitions = 1,
): Promise<void> {
	const channel = await connection.createChannel();
	let closedWith: Error | undefined;
	channel.on('error', (error: Error) => {
		closedWith = error;
	});
	try {
		await channel.assertExchange(t.exchange, 'direct', { durable: true });
		await channel.assertExchange(t.deadLetterExchange, 'direct', { durable: true });
		await channel.assertQueue(t.deadLetterQueue, {
			durable: true,
			arguments: { 'x-queue-type': 'quorum' },
		});
		await channel.bindQueue(t.deadLetterQueue, t.deadLetterExchange, t.deadLetterQueue);
		// One queue per partition (lib/amqp/partitions.ts); one partition is the topology's own queue.
		for (const { queue, routingKey } of partitionQueues(t, partitions)) {
			await channel.assertQueue(queue, { durable: true, arguments: queueArguments(t) });
			await channel.bindQueue(queue, t.exchange, routingKey);
		}
	} catch (error) {
		const reason =
			(closedWith ?? error) instanceof Error
				? (closedWith ?? (error as Error)).message
				: String(error);
		throw new Error(
			`RabbitMQ refused the topology (exchange "${t.exchange}", queue "${t.queue}", dead-letter queue "${t.deadLetterQueue}"): ${reason}. ` +
				'If a queue of that name already exists with other arguments, delete it or choose other names, or turn off "Declare Topology" and declare it yourself.',
		);
	}
	await channel.close().catch(() => undefined);
}
