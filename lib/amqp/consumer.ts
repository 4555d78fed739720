/**
 * Consumes the checkout queue one message at a time and settles each message only after its handler
 * (in n8n: the workflow execution) has finished:
 *  - success → ack;
 *  - failure → wait (backoff), then return it to the queue (nack, requeue) so it is tried again in
 *    order; after `maxAttempts` deliveries → nack without requeue, so the broker dead-letters it;
 *  - a body that is not a JSON object (a poison message) → dead-lettered at once: retrying cannot help.
 * A crash leaves the message unacked and the broker delivers it again. The consumer reconnects after a
 * broker or network failure. Dead-lettering by our own nack (not by the queue's delivery limit) also keeps
 * one message in flight on RabbitMQ 3.10, whose quorum queues grant an extra credit after a
 * delivery-limit dead-letter.
 */
import { QUEUE_MESSAGE_LIMITS, UntrustedInputError, parseJsonSafely } from '../http/untrusted';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';

export interface QueueMessage {
	body: Record<string, unknown>;
	messageId?: string;
	/** Deliveries before this one (the quorum queue's x-delivery-count, counting crashes and retries). */
	deliveryCount: number;
	redelivered: boolean;
	headers: Record<string, unknown>;
	contentType?: string;
	/** Publish time (ms), when the publisher set it. */
	timestamp?: number;
}

export type HandlerOutcome = { ok: true } | { ok: false; error: string };

export interface ConsumerOptions {
	queue: string;
	/** Deliveries of one message (first included) before it is dead-lettered; keep it at or under the queue's delivery limit. */
	maxAttempts: number;
	/** Wait before the n-th retry (n from 1). */
	retryDelayMs: (retry: number) => number;
	/** Called before consuming on each new connection (e.g. to declare the topology). */
	prepare?: (connection: ChannelModel) => Promise<void>;
	/**
	 * How long one handling may take before it counts as failed (and the message as due for a retry): a
	 * guard against an execution whose end is never reported, which would otherwise hold the queue forever.
	 */
	handlerTimeoutMs?: number;
	/** Reconnect waits grow to this. */
	maxReconnectDelayMs?: number;
	log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export type Settlement = 'ack' | 'retry' | 'dead-letter';

/** A message body as a prototype-free object, or why it is poison (it then goes to the dead-letter queue at once). */
export function parseBody(content: Buffer): Record<string, unknown> | string {
	let value: unknown;
	try {
		value = parseJsonSafely(content.toString('utf8'), QUEUE_MESSAGE_LIMITS);
	} catch (error) {
		return error instanceof UntrustedInputError && error.status !== 400 ? `body refused: ${error.message}` : `body is not JSON (${(error as Error).message})`;
	}
	if (!value || typeof value !== 'object' || Array.isArray(value)) return 'body is not a JSON object';
	return value as Record<string, unknown>;
}

export function deliveryCountOf(message: Pick<ConsumeMessage, 'fields' | 'properties'>): number {
	const header = Number((message.properties.headers ?? {})['x-delivery-count']);
	if (Number.isFinite(header) && header >= 0) return header;
	return message.fields.redelivered ? 1 : 0;
}

/** What to do with a message whose handler failed, on its (deliveryCount + 1)-th delivery. */
export function settlementAfterFailure(deliveryCount: number, maxAttempts: number): Exclude<Settlement, 'ack'> {
	return deliveryCount + 1 >= maxAttempts ? 'dead-letter' : 'retry';
}

export const exponentialBackoff = (baseMs: number, maxMs = 60_000) => (retry: number) => Math.min(maxMs, baseMs * 2 ** (retry - 1));

const sleep = (ms: number, signal: { stopped: boolean }) =>
	new Promise<void>((resolve) => {
		const step = Math.min(ms, 200);
		let waited = 0;
		const tick = () => {
			if (signal.stopped || waited >= ms) return resolve();
			waited += step;
			setTimeout(tick, step);
		};
		tick();
	});

export interface RunningConsumer {
	/** Stops consuming; an in-flight message stays unacked and returns to the queue with the connection. */
	stop(): Promise<void>;
	/** Resolves once the first consumer is registered (or rejects with the first connection error). */
	ready: Promise<void>;
}

export function runConsumer(
	connect: () => Promise<ChannelModel>,
	options: ConsumerOptions,
	handle: (message: QueueMessage) => Promise<HandlerOutcome>,
): RunningConsumer {
	const log = options.log ?? (() => undefined);
	const reconnectDelay = exponentialBackoff(500, options.maxReconnectDelayMs ?? 30_000);
	const state = { stopped: false };
	let connection: ChannelModel | undefined;
	let markReady: () => void = () => undefined;
	let failReady: (error: Error) => void = () => undefined;
	let settledReady = false;
	const ready = new Promise<void>((resolve, reject) => {
		markReady = () => {
			settledReady = true;
			resolve();
		};
		failReady = (error) => {
			settledReady = true;
			reject(error);
		};
	});
	ready.catch(() => undefined);

	function settle(channel: Channel, message: ConsumeMessage, how: Settlement): void {
		if (how === 'ack') channel.ack(message);
		else channel.nack(message, false, how === 'retry');
	}

	async function onMessage(channel: Channel, message: ConsumeMessage): Promise<void> {
		const deliveryCount = deliveryCountOf(message);
		const body = parseBody(message.content);
		const id = message.properties.messageId ?? `(delivery ${message.fields.deliveryTag})`;
		log('debug', `Message ${id} delivered (delivery ${deliveryCount + 1})`);
		if (typeof body === 'string') {
			settle(channel, message, 'dead-letter');
			return log('error', `Message ${id} goes to the dead-letter queue: ${body}`);
		}
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<HandlerOutcome>((resolve) => {
			if (options.handlerTimeoutMs === undefined) return;
			timer = setTimeout(() => resolve({ ok: false, error: `no result within ${options.handlerTimeoutMs} ms` }), options.handlerTimeoutMs);
			// A guard, not a reason to keep the process alive once the consumer is stopped.
			timer.unref();
		});
		const handling = handle({
			body,
			messageId: message.properties.messageId,
			deliveryCount,
			redelivered: message.fields.redelivered,
			headers: (message.properties.headers ?? {}) as Record<string, unknown>,
			contentType: message.properties.contentType,
			timestamp: message.properties.timestamp,
		}).catch((error: unknown): HandlerOutcome => ({ ok: false, error: error instanceof Error ? error.message : String(error) }));
		const outcome = await Promise.race([handling, timeout]);
		clearTimeout(timer);
		if (state.stopped) return; // unacked: it returns to the queue when the channel closes
		log('debug', `Message ${id} handled: ${outcome.ok ? 'ok' : outcome.error}`);
		if (outcome.ok) return settle(channel, message, 'ack');
		const how = settlementAfterFailure(deliveryCount, options.maxAttempts);
		if (how === 'dead-letter') {
			settle(channel, message, how);
			return log('error', `Message ${id} failed on delivery ${deliveryCount + 1} of ${options.maxAttempts} and goes to the dead-letter queue: ${outcome.error}`);
		}
		const delay = options.retryDelayMs(deliveryCount + 1);
		log('warn', `Message ${id} failed on delivery ${deliveryCount + 1} of ${options.maxAttempts}; it is tried again in ${delay} ms: ${outcome.error}`);
		// Holding the message while waiting keeps the queue's order: with prefetch 1 nothing overtakes it.
		await sleep(delay, state);
		if (!state.stopped) settle(channel, message, how);
	}

	async function loop(): Promise<void> {
		let failures = 0;
		while (!state.stopped) {
			try {
				connection = await connect();
				const closed = new Promise<void>((resolve) => {
					connection!.on('close', () => resolve());
					connection!.on('error', (error: Error) => log('warn', `RabbitMQ connection error: ${error.message}`));
				});
				await options.prepare?.(connection);
				const channel = await connection.createChannel();
				channel.on('error', (error: Error) => log('warn', `RabbitMQ channel error: ${error.message}`));
				await channel.prefetch(1);
				// One message at a time: the queue's order is the order of the effects.
				let chain = Promise.resolve();
				await channel.consume(options.queue, (message) => {
					if (!message) {
						log('warn', `The queue "${options.queue}" was deleted or the consumer cancelled; reconnecting`);
						void connection?.close().catch(() => undefined);
						return;
					}
					chain = chain.then(() => onMessage(channel, message)).catch((error: unknown) => log('error', `Settling a message failed: ${String(error)}`));
				});
				failures = 0;
				if (!settledReady) markReady();
				log('info', `Consuming "${options.queue}" one message at a time`);
				await closed;
				if (!state.stopped) log('warn', 'RabbitMQ connection closed; reconnecting');
			} catch (error) {
				failures++;
				const message = error instanceof Error ? error.message : String(error);
				if (!settledReady) failReady(error instanceof Error ? error : new Error(message));
				log('error', `RabbitMQ consumer could not start: ${message}`);
				await connection?.close().catch(() => undefined);
			}
			connection = undefined;
			if (!state.stopped) await sleep(reconnectDelay(Math.min(failures, 6) + 1), state);
		}
	}

	void loop();
	return {
		ready,
		async stop() {
			state.stopped = true;
			await connection?.close().catch(() => undefined);
		},
	};
}
