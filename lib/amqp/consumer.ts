/**
 * Consumes the checkout queue one message at a time and settles each message only after its handler
 * (in n8n: the workflow execution) has finished:
 *  - success → ack;
 *  - failure → wait (backoff), then return it to the queue (nack, requeue) so it is tried again in
 *    order; after `maxAttempts` deliveries → nack without requeue, so the broker dead-letters it;
 *  - a body that is not a JSON object (a poison message) → dead-lettered at once: retrying cannot help.
 * A crash leaves the message unacked and the broker delivers it again. The consumer reconnects after a
 * broker or network failure.
 *
 * Never two handlings at once, also across reconnects and timeouts: a handler still running after its
 * connection dropped, or after its timeout, holds back the next message (the same one, redelivered) until
 * it ends. What a failure means is said by its kind (lib/util/failure.ts), set where the error was made
 * and never read from its message: a `lasting` failure (Pipedrive refusing the credentials, its block
 * page, the daily budget spent, a gateway down) pauses the queue instead of spending the message's
 * attempts: the message is held and tried again every `pauseProbeMs` until it goes through; a `poison`
 * one is dead-lettered at once. A message whose id this consumer acked a
 * moment ago (a duplicate from a relay retry) is dropped without running again, unless it is a replay. Dead-lettering by our own nack (not by the queue's delivery limit) also keeps
 * one message in flight on RabbitMQ 3.10, whose quorum queues grant an extra credit after a
 * delivery-limit dead-letter.
 */
import { failureOf, type Failure } from '../util/failure';
import { redactPersonalData } from '../util/redact';
import { QUEUE_MESSAGE_LIMITS, UntrustedInputError, parseJsonSafely } from '../http/untrusted';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

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

export type HandlerOutcome = { ok: true } | { ok: false; failure: Failure };

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
	/** While paused on a lasting failure, the held message is tried again this often (a probe). */
	pauseProbeMs?: number;
	/**
	 * A paused message is released to the queue after being held this long, and taken again: brokers
	 * close a channel that holds a delivery longer than their consumer timeout (30 min by default).
	 */
	maxHoldMs?: number;
	log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
	/**
	 * Where a message this consumer gives up on goes, with why (header `x-dead-letter-reason`): a copy is
	 * published there with publisher confirms and the message acked only after the broker confirmed it.
	 * Without it (or when that publish fails) the message is rejected and the queue's own dead-letter
	 * exchange takes it, with the broker's death record but no reason.
	 */
	deadLetterQueue?: string;
	/** Told of every message this consumer dead-letters, with why (the trigger shows it as a failed execution). */
	onDeadLetter?: (deadLetter: { messageId?: string; reason: string }) => void;
}

/** Headers the consumer adds to a message it dead-letters itself (removed again by a re-drive). */
export const DEAD_LETTER_REASON_HEADER = 'x-dead-letter-reason';
export const DEAD_LETTERED_AT_HEADER = 'x-dead-lettered-at';

export type Settlement = 'ack' | 'retry' | 'dead-letter';

/** Message ids acked lately (bounded, insertion order): a redelivered duplicate is recognised and dropped. */
export class RecentIds {
	private readonly ids = new Set<string>();
	constructor(private readonly max = 10_000) {}
	has(id: string): boolean {
		return this.ids.has(id);
	}
	add(id: string): void {
		this.ids.delete(id);
		this.ids.add(id);
		if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
	}
}

/** A message body as a prototype-free object, or why it is poison (it then goes to the dead-letter queue at once). */
export function parseBody(content: Buffer): Record<string, unknown> | string {
	let value: unknown;
	try {
		value = parseJsonSafely(content.toString('utf8'), QUEUE_MESSAGE_LIMITS);
	} catch (error) {
		return error instanceof UntrustedInputError && error.status !== 400
			? `body refused: ${error.message}`
			: `body is not JSON (${(error as Error).message})`;
	}
	if (!value || typeof value !== 'object' || Array.isArray(value))
		return 'body is not a JSON object';
	return value as Record<string, unknown>;
}

export function deliveryCountOf(message: Pick<ConsumeMessage, 'fields' | 'properties'>): number {
	const header = Number((message.properties.headers ?? {})['x-delivery-count']);
	if (Number.isFinite(header) && header >= 0) return header;
	return message.fields.redelivered ? 1 : 0;
}

/** What to do with a message whose handler failed, on its (deliveryCount + 1)-th delivery. */
export function settlementAfterFailure(
	deliveryCount: number,
	maxAttempts: number,
): Exclude<Settlement, 'ack'> {
	return deliveryCount + 1 >= maxAttempts ? 'dead-letter' : 'retry';
}

export const exponentialBackoff =
	(baseMs: number, maxMs = 60_000) =>
	(retry: number) =>
		Math.min(maxMs, baseMs * 2 ** (retry - 1));

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
	// Every line passes the redactor: handler errors can quote what a third party echoed of a request.
	const sink = options.log;
	const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) =>
		sink?.(level, redactPersonalData(message));
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

	const recent = new RecentIds();
	/** A handling that has not ended yet (its connection dropped, or it outlived its timeout). */
	let unfinished: Promise<unknown> | undefined;
	const probeMs = options.pauseProbeMs ?? 60_000;
	const maxHoldMs = options.maxHoldMs ?? 25 * 60_000;

	/**
	 * A confirm channel on the current connection, for dead-letter copies: one per connection, made again
	 * after it closed. `returned` is set when the broker hands a copy back unroutable (the dead-letter queue
	 * is missing): it still confirms such a message, so the confirm alone proves nothing.
	 */
	let confirmChannel:
		{ connection: ChannelModel; channel: Promise<ConfirmChannel>; returned: boolean } | undefined;
	function confirmChannelOf(current: ChannelModel): NonNullable<typeof confirmChannel> {
		if (confirmChannel?.connection !== current) {
			const entry = {
				connection: current,
				channel: current.createConfirmChannel(),
				returned: false,
			};
			entry.channel
				.then((c) => {
					c.on('error', (error: Error) =>
						log('warn', `RabbitMQ dead-letter channel error: ${error.message}`),
					);
					c.on('close', () => {
						if (confirmChannel === entry) confirmChannel = undefined;
					});
					c.on('return', () => (entry.returned = true));
				})
				.catch(() => {
					if (confirmChannel === entry) confirmChannel = undefined;
				});
			confirmChannel = entry;
		}
		return confirmChannel;
	}

	/** Dead-letters with the reason when it can (see `deadLetterQueue`), else by rejecting. */
	async function deadLetter(
		channel: Channel,
		message: ConsumeMessage,
		reason: string,
	): Promise<void> {
		const current = connection;
		if (options.deadLetterQueue && current) {
			try {
				const entry = confirmChannelOf(current);
				const confirm = await entry.channel;
				const headers = {
					...(message.properties.headers ?? {}),
					[DEAD_LETTER_REASON_HEADER]: redactPersonalData(reason).slice(0, 2000),
					[DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
				};
				// One dead letter at a time (the consumer handles one message at a time): the flag is this copy's.
				entry.returned = false;
				await new Promise<void>((resolve, reject) => {
					const timer = setTimeout(() => reject(new Error('no confirm within 30 s')), 30_000);
					timer.unref();
					confirm.publish(
						'',
						options.deadLetterQueue!,
						message.content,
						{ ...message.properties, headers, persistent: true, mandatory: true },
						(error) => {
							clearTimeout(timer);
							if (error) reject(error instanceof Error ? error : new Error(String(error)));
							else if (entry.returned)
								reject(
									new Error(`the dead-letter queue "${options.deadLetterQueue}" does not exist`),
								);
							else resolve();
						},
					);
				});
				// Confirmed: the copy is safe. If this ack is lost the message comes back and is handled
				// again (at least once); the dead-letter queue may then hold it twice, never zero times.
				channel.ack(message);
				return;
			} catch (error) {
				log(
					'warn',
					`Could not put the reason on the dead-lettered message (${(error as Error).message}); rejecting it to the queue's dead-letter exchange`,
				);
			}
		}
		channel.nack(message, false, false);
	}

	function settle(channel: Channel, message: ConsumeMessage, how: Settlement): void {
		if (how === 'ack') {
			channel.ack(message);
			if (message.properties.messageId) recent.add(message.properties.messageId);
		} else channel.nack(message, false, how === 'retry');
	}

	/** One run of the handler, bounded by the timeout; a run that outlives it stays `unfinished`. */
	async function runHandler(queueMessage: QueueMessage): Promise<HandlerOutcome> {
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<HandlerOutcome>((resolve) => {
			if (options.handlerTimeoutMs === undefined) return;
			timer = setTimeout(
				() =>
					resolve({
						ok: false,
						failure: {
							kind: 'retryable',
							reason: `no result within ${options.handlerTimeoutMs} ms`,
						},
					}),
				options.handlerTimeoutMs,
			);
			// A guard, not a reason to keep the process alive once the consumer is stopped.
			timer.unref();
		});
		const handling = handle(queueMessage).catch((error: unknown): HandlerOutcome => ({
			ok: false,
			failure: failureOf(error),
		}));
		const tracked = handling.finally(() => {
			if (unfinished === tracked) unfinished = undefined;
		});
		unfinished = tracked;
		const outcome = await Promise.race([handling, timeout]);
		clearTimeout(timer);
		return outcome;
	}

	async function onMessage(channel: Channel, message: ConsumeMessage): Promise<void> {
		const deliveryCount = deliveryCountOf(message);
		const body = parseBody(message.content);
		const id = message.properties.messageId ?? `(delivery ${message.fields.deliveryTag})`;
		log('debug', `Message ${id} delivered (delivery ${deliveryCount + 1})`);
		if (typeof body === 'string') {
			await deadLetter(channel, message, `poison message: ${body}`);
			options.onDeadLetter?.({
				messageId: message.properties.messageId,
				reason: `poison message: ${body}`,
			});
			return log('error', `Message ${id} goes to the dead-letter queue: ${body}`);
		}
		const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
		if (
			message.properties.messageId &&
			recent.has(message.properties.messageId) &&
			!headers['x-replayed-at']
		) {
			settle(channel, message, 'ack');
			return log('info', `Message ${id} was applied a moment ago: dropped as a duplicate`);
		}
		if (unfinished) {
			// The previous handling (this message before a reconnect or a timeout) is still running: two at
			// once could double its effect. Wait for it, up to another timeout (then it counts as lost).
			log('warn', `Message ${id} waits for an execution that has not ended yet`);
			const limit = options.handlerTimeoutMs ?? 600_000;
			const waited = await Promise.race([
				unfinished.then(() => 'ended'),
				new Promise<string>((resolve) => setTimeout(() => resolve('still running'), limit).unref()),
			]);
			if (waited !== 'ended')
				log(
					'error',
					`An execution did not end ${limit} ms after its timeout; going on with message ${id}`,
				);
		}
		if (state.stopped) return;
		const queueMessage: QueueMessage = {
			body,
			messageId: message.properties.messageId,
			deliveryCount,
			redelivered: message.fields.redelivered,
			headers,
			contentType: message.properties.contentType,
			timestamp: message.properties.timestamp,
		};
		let outcome = await runHandler(queueMessage);
		const heldSince = Date.now();
		while (!outcome.ok && outcome.failure.kind === 'lasting' && !state.stopped) {
			// Retrying in seconds cannot help, and dead-lettering would send every following message after it.
			if (Date.now() - heldSince >= maxHoldMs) {
				log(
					'warn',
					`Message ${id} held ${Math.round(maxHoldMs / 60_000)} min while paused; returned to the queue and taken again`,
				);
				return settle(channel, message, 'retry');
			}
			log(
				'warn',
				`Paused: ${outcome.failure.reason}. Message ${id} is tried again every ${Math.round(probeMs / 1000)} s; the queue goes on once it succeeds.`,
			);
			await sleep(probeMs, state);
			if (state.stopped) return;
			outcome = await runHandler(queueMessage);
		}
		if (state.stopped) return; // unacked: it returns to the queue when the channel closes
		log('debug', `Message ${id} handled: ${outcome.ok ? 'ok' : outcome.failure.reason}`);
		if (outcome.ok) return settle(channel, message, 'ack');
		const { kind, reason } = outcome.failure;
		const how =
			kind === 'poison'
				? 'dead-letter'
				: settlementAfterFailure(deliveryCount, options.maxAttempts);
		if (how === 'dead-letter') {
			const why =
				kind === 'poison'
					? `poison message: ${reason}`
					: `failed on ${deliveryCount + 1} deliveries; last error: ${reason}`;
			await deadLetter(channel, message, why);
			options.onDeadLetter?.({ messageId: message.properties.messageId, reason: why });
			return log(
				'error',
				kind === 'poison'
					? `Message ${id} goes to the dead-letter queue: ${reason}`
					: `Message ${id} failed on delivery ${deliveryCount + 1} of ${options.maxAttempts} and goes to the dead-letter queue: ${reason}`,
			);
		}
		const delay = options.retryDelayMs(deliveryCount + 1);
		log(
			'warn',
			`Message ${id} failed on delivery ${deliveryCount + 1} of ${options.maxAttempts}; it is tried again in ${delay} ms: ${reason}`,
		);
		// Holding the message while waiting keeps the queue's order: with prefetch 1 nothing overtakes it.
		await sleep(delay, state);
		if (!state.stopped) settle(channel, message, how);
	}

	// One message at a time, across reconnects too: the queue's order is the order of the effects, and a
	// message redelivered on a new connection waits for its first handling on the old one.
	let chain = Promise.resolve();

	async function loop(): Promise<void> {
		let failures = 0;
		while (!state.stopped) {
			try {
				connection = await connect();
				const closed = new Promise<void>((resolve) => {
					connection!.on('close', () => resolve());
					connection!.on('error', (error: Error) =>
						log('warn', `RabbitMQ connection error: ${error.message}`),
					);
				});
				await options.prepare?.(connection);
				const channel = await connection.createChannel();
				channel.on('error', (error: Error) =>
					log('warn', `RabbitMQ channel error: ${error.message}`),
				);
				await channel.prefetch(1);
				// stop() may have come while connecting: it closed no connection yet, so close this one now
				// rather than consume on it (it would hold a message and the single-active-consumer slot).
				if (state.stopped) {
					await connection.close().catch(() => undefined);
					break;
				}
				await channel.consume(options.queue, (message) => {
					if (!message) {
						log(
							'warn',
							`The queue "${options.queue}" was deleted or the consumer cancelled; reconnecting`,
						);
						void connection?.close().catch(() => undefined);
						return;
					}
					chain = chain
						.then(() => onMessage(channel, message))
						.catch((error: unknown) => log('error', `Settling a message failed: ${String(error)}`));
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
