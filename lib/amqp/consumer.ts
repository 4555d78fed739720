/**
 * Consumes one checkout queue (one partition) and settles each message only after its handler (in n8n:
 * the workflow execution) has finished. One handling at a time; several messages held at once (the
 * prefetch window), so that a message that cannot be processed yet waits without holding the others:
 *  - success → ack;
 *  - a retryable failure → the message stays held (unacked) and is tried again after a backoff; meanwhile
 *    the later messages of its own key (its lead: `keyOf`) wait behind it, so a lead's events keep their
 *    order, and every other message goes on; after `maxAttempts` handlings → dead-lettered with its reason;
 *  - a lasting failure (Pipedrive refusing the credentials, its block page, the daily budget spent, a
 *    gateway down: retrying cannot heal it, and every other message would fail too) → the queue pauses:
 *    the message is tried again every `pauseProbeMs` until it goes through;
 *  - a poison message (a body that is not a JSON object, or a failure of that kind) → dead-lettered at once.
 * What a failure means is its kind (lib/util/failure.ts), set where the error was made, never read from
 * its message. Attempts are counted here, by message, not read from the broker's x-delivery-count (whose
 * counting differs between RabbitMQ versions: 4.3 no longer counts a requeue by nack), and no retry goes
 * back through the broker. A crash leaves the held messages unacked and the broker delivers them again,
 * in their order. The consumer reconnects after a broker or network failure.
 *
 * Never two handlings at once, also across reconnects and timeouts: a handler still running after its
 * connection dropped, or after its timeout, holds back the next handling until it ends. A message whose
 * id this consumer acked a moment ago (a duplicate from a relay retry) is dropped without running again,
 * unless it is a replay. Across processes (another main taking the queue over) the handlers' own effects
 * are what must not double (lib/pipedrive/shared.ts).
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';

import { QUEUE_MESSAGE_LIMITS, UntrustedInputError, parseJsonSafely } from '../http/untrusted';
import { failureOf, type Failure } from '../util/failure';
import { redactPersonalData } from '../util/redact';
import { DeadLetterer } from './deadLetter';
import type { MessageKey } from './partitions';
import { nextToRun } from './schedule';

export { DEAD_LETTER_REASON_HEADER, DEAD_LETTERED_AT_HEADER } from './deadLetter';

export interface QueueMessage {
	body: Record<string, unknown>;
	messageId?: string;
	/** Handlings of this message before this one that failed (counted by the consumer). */
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
	/** Handlings of one message (the first included) before it is dead-lettered. */
	maxAttempts: number;
	/** Wait before the n-th retry (n from 1). */
	retryDelayMs: (retry: number) => number;
	/**
	 * What a message is ordered by (its lead): a message waiting for its retry holds back only the later
	 * messages of its key. Without it every message has one key: strict queue order, as one queue.
	 */
	keyOf?: MessageKey;
	/** Messages held at once (the prefetch): how far past waiting messages the consumer looks. */
	window?: number;
	/** Called before consuming on each new connection (e.g. to declare the topology). */
	prepare?: (connection: ChannelModel) => Promise<void>;
	/**
	 * How long one handling may take before it counts as failed (and the message as due for a retry): a
	 * guard against an execution whose end is never reported, which would otherwise hold the queue forever.
	 */
	handlerTimeoutMs?: number;
	/** Reconnect waits grow to this. */
	maxReconnectDelayMs?: number;
	/** While paused on a lasting failure, the failed service is probed this often. */
	pauseProbeMs?: number;
	/**
	 * How to probe while paused: one cheap call that tells whether the failed service answers again (the
	 * held message is then run again). Without it, the held message itself is run again as the probe.
	 */
	probe?: (message: QueueMessage, failure: Failure) => Promise<HandlerOutcome>;
	/**
	 * Held messages are returned to the queue (and taken again) after being held this long while paused:
	 * brokers close a channel that holds a delivery longer than their consumer timeout (30 min by default).
	 */
	maxHoldMs?: number;
	log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
	/** Where a message this consumer gives up on goes, with why (see lib/amqp/deadLetter.ts). */
	deadLetterQueue?: string;
	/** Told of every message this consumer dead-letters, with why (the trigger shows it as a failed execution). */
	onDeadLetter?: (deadLetter: { messageId?: string; reason: string }) => void;
}

export type Settlement = 'ack' | 'retry' | 'dead-letter';

/** Message ids (bounded, insertion order): a redelivered duplicate is recognised; also attempt counts. */
export class RecentIds<V = true> {
	private readonly ids = new Map<string, V>();
	constructor(private readonly max = 10_000) {}
	has(id: string): boolean {
		return this.ids.has(id);
	}
	get(id: string): V | undefined {
		return this.ids.get(id);
	}
	add(id: string, value: V = true as V): void {
		this.ids.delete(id);
		this.ids.set(id, value);
		if (this.ids.size > this.max) this.ids.delete(this.ids.keys().next().value as string);
	}
	delete(id: string): void {
		this.ids.delete(id);
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

/** What to do with a message whose handler failed on its (failures + 1)-th handling. */
export function settlementAfterFailure(
	failures: number,
	maxAttempts: number,
): Exclude<Settlement, 'ack'> {
	return failures + 1 >= maxAttempts ? 'dead-letter' : 'retry';
}

export const exponentialBackoff =
	(baseMs: number, maxMs = 60_000) =>
	(retry: number) =>
		Math.min(maxMs, baseMs * 2 ** (retry - 1));

export interface RunningConsumer {
	/** Stops consuming; held messages stay unacked and return to the queue with the connection. */
	stop(): Promise<void>;
	/** Resolves once the first consumer is registered (or rejects with the first connection error). */
	ready: Promise<void>;
}

/** A delivery the consumer holds until it is settled. */
interface Held {
	message: ConsumeMessage;
	channel: Channel;
	connection: ChannelModel;
	id: string;
	key: string;
	notBefore: number;
	/** The body, or why it is poison. */
	body: Record<string, unknown> | string;
}

/** Sleeps `ms`, or less when `wake` is called or the consumer stops. */
function napper(state: { stopped: boolean }) {
	let wakeUp: (() => void) | undefined;
	return {
		wake: () => wakeUp?.(),
		sleep: (ms: number) =>
			new Promise<void>((resolve) => {
				const timer = setTimeout(done, Math.max(0, ms));
				const poll = setInterval(() => state.stopped && done(), 200);
				function done() {
					clearTimeout(timer);
					clearInterval(poll);
					wakeUp = undefined;
					resolve();
				}
				wakeUp = done;
			}),
	};
}

export function runConsumer(
	connect: () => Promise<ChannelModel>,
	options: ConsumerOptions,
	handle: (message: QueueMessage) => Promise<HandlerOutcome>,
): RunningConsumer {
	// Every line passes the redactor: handler errors can quote what a third party echoed of a request.
	const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string) =>
		options.log?.(level, redactPersonalData(message));
	const state = { stopped: false };
	/** The worker's sleep, cut short by a new delivery; the reconnect loop has its own. */
	const nap = napper(state);
	const reconnectNap = napper(state);
	const deadLetters = new DeadLetterer(options.deadLetterQueue, log);
	const keyOf = options.keyOf ?? (() => 'queue');
	const recent = new RecentIds();
	/** Failed handlings per message id, in this process (kept across reconnects and requeues). */
	const failures = new RecentIds<number>();
	const held: Held[] = [];
	let connection: ChannelModel | undefined;
	/** A handling that has not ended yet (its connection dropped, or it outlived its timeout). */
	let unfinished: Promise<unknown> | undefined;
	const probeMs = options.pauseProbeMs ?? 60_000;
	const maxHoldMs = options.maxHoldMs ?? 25 * 60_000;

	const release = (h: Held) => {
		const i = held.indexOf(h);
		if (i >= 0) held.splice(i, 1);
	};
	const attemptsOf = (id: string) => failures.get(id) ?? 0;
	const settled = (h: Held) => h.channel === undefined || h.connection !== connection;

	function ack(h: Held): void {
		h.channel.ack(h.message);
		if (h.message.properties.messageId) recent.add(h.message.properties.messageId);
		failures.delete(h.id);
		release(h);
	}

	async function deadLetter(h: Held, reason: string): Promise<void> {
		await deadLetters.send(h.connection, h.channel, h.message, reason);
		options.onDeadLetter?.({ messageId: h.message.properties.messageId, reason });
		failures.delete(h.id);
		release(h);
	}

	/**
	 * One run of the handler (or of `run`, a probe), bounded by the timeout; a run that outlives it stays
	 * `unfinished`.
	 */
	async function runHandler(
		queueMessage: QueueMessage,
		run: () => Promise<HandlerOutcome> = () => handle(queueMessage),
	): Promise<HandlerOutcome> {
		if (unfinished) {
			// The previous handling (before a reconnect or a timeout) is still running: two at once could
			// double its effect. Wait for it, up to another timeout (then it counts as lost).
			log(
				'warn',
				`Message ${queueMessage.messageId} waits for an execution that has not ended yet`,
			);
			const limit = options.handlerTimeoutMs ?? 600_000;
			const waited = await Promise.race([
				unfinished.then(() => 'ended'),
				new Promise<string>((resolve) => setTimeout(() => resolve('still running'), limit).unref()),
			]);
			if (waited !== 'ended')
				log('error', `An execution did not end ${limit} ms after its timeout; going on`);
		}
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
		const handling = run().catch((error: unknown): HandlerOutcome => ({
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

	function queueMessageOf(h: Held, body: Record<string, unknown>): QueueMessage {
		const attempts = attemptsOf(h.id);
		return {
			body,
			messageId: h.message.properties.messageId,
			deliveryCount: attempts,
			redelivered: h.message.fields.redelivered || attempts > 0,
			headers: (h.message.properties.headers ?? {}) as Record<string, unknown>,
			contentType: h.message.properties.contentType,
			timestamp: h.message.properties.timestamp,
		};
	}

	/**
	 * A lasting failure: the queue pauses on this message, probing it every `probeMs`, until it goes through
	 * or fails otherwise. Held too long, every held message goes back to the queue (in order) and is taken again.
	 */
	async function pause(h: Held, body: Record<string, unknown>, first: HandlerOutcome) {
		let outcome = first;
		const heldSince = Date.now();
		while (!outcome.ok && outcome.failure.kind === 'lasting' && !state.stopped) {
			if (settled(h)) return undefined;
			if (Date.now() - heldSince >= maxHoldMs) {
				log(
					'warn',
					`Message ${h.id} held ${Math.round(maxHoldMs / 60_000)} min while paused; the held messages go back to the queue and are taken again`,
				);
				h.channel.nackAll(true);
				held.splice(0, held.length, ...held.filter((x) => x.channel !== h.channel));
				return undefined;
			}
			log(
				'warn',
				`Paused: ${outcome.failure.reason}. Message ${h.id} is tried again every ${Math.round(probeMs / 1000)} s; the queue goes on once it succeeds.`,
			);
			await nap.sleep(probeMs);
			if (state.stopped || settled(h)) return undefined;
			const failure = outcome.failure;
			const probed = options.probe
				? await runHandler(queueMessageOf(h, body), () =>
						options.probe!(queueMessageOf(h, body), failure),
					)
				: undefined;
			// Still down: paused on; back (or a probe that says nothing): the held message runs again.
			outcome =
				probed && !probed.ok && probed.failure.kind === 'lasting'
					? probed
					: await runHandler(queueMessageOf(h, body));
		}
		return outcome;
	}

	/** Handles one held message to its next settlement (acked, dead-lettered, or due again later). */
	async function handleHeld(h: Held): Promise<void> {
		if (typeof h.body === 'string') {
			await deadLetter(h, `poison message: ${h.body}`);
			return log('error', `Message ${h.id} goes to the dead-letter queue: ${h.body}`);
		}
		const headers = (h.message.properties.headers ?? {}) as Record<string, unknown>;
		const messageId = h.message.properties.messageId;
		if (messageId && recent.has(messageId) && !headers['x-replayed-at']) {
			ack(h);
			return log('info', `Message ${h.id} was applied a moment ago: dropped as a duplicate`);
		}
		log('debug', `Message ${h.id} handled (attempt ${attemptsOf(h.id) + 1})`);
		let outcome: HandlerOutcome | undefined = await runHandler(queueMessageOf(h, h.body));
		if (!outcome.ok && outcome.failure.kind === 'lasting')
			outcome = await pause(h, h.body, outcome);
		// Stopped, or its connection went meanwhile: unacked, it returns to the queue with the connection.
		if (!outcome || state.stopped || settled(h)) return;
		log('debug', `Message ${h.id} handled: ${outcome.ok ? 'ok' : outcome.failure.reason}`);
		if (outcome.ok) return ack(h);
		await afterFailure(h, outcome.failure);
	}

	async function afterFailure(h: Held, { kind, reason }: Failure): Promise<void> {
		const failed = attemptsOf(h.id);
		const how =
			kind === 'poison' ? 'dead-letter' : settlementAfterFailure(failed, options.maxAttempts);
		if (how === 'dead-letter') {
			const why =
				kind === 'poison'
					? `poison message: ${reason}`
					: `failed on ${failed + 1} deliveries; last error: ${reason}`;
			await deadLetter(h, why);
			return log(
				'error',
				kind === 'poison'
					? `Message ${h.id} goes to the dead-letter queue: ${reason}`
					: `Message ${h.id} failed on delivery ${failed + 1} of ${options.maxAttempts} and goes to the dead-letter queue: ${reason}`,
			);
		}
		failures.add(h.id, failed + 1);
		const delay = options.retryDelayMs(failed + 1);
		log(
			'warn',
			`Message ${h.id} failed on delivery ${failed + 1} of ${options.maxAttempts}; it is tried again in ${delay} ms: ${reason}`,
		);
		// Held meanwhile (unacked): later messages of its key wait behind it, the others go on.
		h.notBefore = Date.now() + delay;
	}

	/** The one worker of this consumer: handles the held messages one at a time, in schedule order. */
	async function work(): Promise<void> {
		while (!state.stopped) {
			for (let i = held.length - 1; i >= 0; i--) if (settled(held[i])) held.splice(i, 1);
			const step = nextToRun(held, Date.now());
			if ('run' in step) {
				await handleHeld(step.run).catch((error: unknown) =>
					log('error', `Settling a message failed: ${String(error)}`),
				);
				continue;
			}
			await nap.sleep('waitUntil' in step ? step.waitUntil - Date.now() : 60_000);
		}
	}

	function onDelivery(channel: Channel, current: ChannelModel, message: ConsumeMessage): void {
		const id = message.properties.messageId ?? `(delivery ${message.fields.deliveryTag})`;
		const body = parseBody(message.content);
		let key: string;
		try {
			key = typeof body === 'string' ? `poison:${id}` : keyOf(message.content, id);
		} catch {
			key = `event:${id}`;
		}
		log('debug', `Message ${id} delivered`);
		held.push({ message, channel, connection: current, id, key, notBefore: 0, body });
		nap.wake();
	}

	const reconnectDelay = exponentialBackoff(500, options.maxReconnectDelayMs ?? 30_000);
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

	async function loop(): Promise<void> {
		let failuresInARow = 0;
		while (!state.stopped) {
			try {
				const current = await connect();
				connection = current;
				const closed = new Promise<void>((resolve) => {
					current.on('close', () => resolve());
					current.on('error', (error: Error) =>
						log('warn', `RabbitMQ connection error: ${error.message}`),
					);
				});
				await options.prepare?.(current);
				const channel = await current.createChannel();
				channel.on('error', (error: Error) =>
					log('warn', `RabbitMQ channel error: ${error.message}`),
				);
				await channel.prefetch(Math.max(1, options.window ?? 1));
				// stop() may have come while connecting: it closed no connection yet, so close this one now
				// rather than consume on it (it would hold messages and the single-active-consumer slot).
				if (state.stopped) {
					await current.close().catch(() => undefined);
					break;
				}
				await channel.consume(options.queue, (message) => {
					if (!message) {
						log(
							'warn',
							`The queue "${options.queue}" was deleted or the consumer cancelled; reconnecting`,
						);
						void current.close().catch(() => undefined);
						return;
					}
					onDelivery(channel, current, message);
				});
				failuresInARow = 0;
				if (!settledReady) markReady();
				log('info', `Consuming "${options.queue}" one message at a time`);
				await closed;
				if (!state.stopped) log('warn', 'RabbitMQ connection closed; reconnecting');
			} catch (error) {
				failuresInARow++;
				const message = error instanceof Error ? error.message : String(error);
				if (!settledReady) failReady(error instanceof Error ? error : new Error(message));
				log('error', `RabbitMQ consumer could not start: ${message}`);
				await connection?.close().catch(() => undefined);
			}
			connection = undefined;
			nap.wake();
			if (!state.stopped) await reconnectNap.sleep(reconnectDelay(Math.min(failuresInARow, 6) + 1));
		}
	}

	void loop();
	void work();
	return {
		ready,
		async stop() {
			state.stopped = true;
			nap.wake();
			reconnectNap.wake();
			await connection?.close().catch(() => undefined);
		},
	};
}
