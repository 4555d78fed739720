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
function napper(isStopped: () => boolean) {
	let wakeUp: (() => void) | undefined;
	return {
		wake: () => wakeUp?.(),
		sleep: (ms: number) =>
			new Promise<void>((resolve) => {
				const timer = setTimeout(done, Math.max(0, ms));
				const poll = setInterval(() => isStopped() && done(), 200);
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

/**
 * A consumer's `ready`: settled once, by the first consumer registered or by the first connection error;
 * the reconnects after it settle nothing.
 */
class Readiness {
	readonly promise: Promise<void>;
	private settled = false;
	private resolvePromise: () => void = () => undefined;
	private rejectPromise: (error: Error) => void = () => undefined;

	constructor() {
		this.promise = new Promise<void>((resolve, reject) => {
			this.resolvePromise = resolve;
			this.rejectPromise = reject;
		});
		// A caller need not wait for it: a first connection error is then no unhandled rejection.
		this.promise.catch(() => undefined);
	}

	resolve(): void {
		if (this.settled) return;
		this.settled = true;
		this.resolvePromise();
	}

	reject(error: Error): void {
		if (this.settled) return;
		this.settled = true;
		this.rejectPromise(error);
	}
}

type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * One running consumer: the state its two loops share, and what each does with it. The connection loop
 * (connects, consumes, reconnects) adds the deliveries to `held`; the one worker handles them, one at a
 * time, and settles them on the connection they came on, as long as that connection is still the current
 * one.
 */
class ConsumerRun {
	// Every line passes the redactor: handler errors can quote what a third party echoed of a request.
	private readonly log = (level: LogLevel, message: string) =>
		this.options.log?.(level, redactPersonalData(message));

	private stopped = false;
	/** The connection consumed on now; undefined between connections. */
	private connection: ChannelModel | undefined;
	/** Deliveries taken and not settled yet, in delivery order. */
	private readonly held: Held[] = [];
	/** Ids of the messages acked a moment ago: a duplicate from a relay retry is dropped. */
	private readonly recent = new RecentIds();
	/** Failed handlings per message id, in this process (kept across reconnects and requeues). */
	private readonly failures = new RecentIds<number>();
	/** A handling that has not ended yet (its connection dropped, or it outlived its timeout). */
	private unfinished: Promise<unknown> | undefined;
	/** Connections that failed since a consumer was last registered: how long the reconnect waits. */
	private failuresInARow = 0;
	/** The worker's sleep, cut short by a new delivery; the reconnect loop has its own. */
	private readonly nap = napper(() => this.stopped);
	private readonly reconnectNap = napper(() => this.stopped);
	private readonly readiness = new Readiness();
	private readonly deadLetters: DeadLetterer;
	private readonly keyOf: MessageKey;
	private readonly probeMs: number;
	private readonly maxHoldMs: number;
	private readonly reconnectDelay: (failuresInARow: number) => number;

	constructor(
		private readonly connect: () => Promise<ChannelModel>,
		private readonly options: ConsumerOptions,
		private readonly handle: (message: QueueMessage) => Promise<HandlerOutcome>,
	) {
		this.deadLetters = new DeadLetterer(options.deadLetterQueue, this.log);
		this.keyOf = options.keyOf ?? (() => 'queue');
		this.probeMs = options.pauseProbeMs ?? 60_000;
		this.maxHoldMs = options.maxHoldMs ?? 25 * 60_000;
		this.reconnectDelay = exponentialBackoff(500, options.maxReconnectDelayMs ?? 30_000);
	}

	/** Starts the connection loop and the worker. */
	start(): RunningConsumer {
		void this.connectUntilStopped();
		void this.work();
		return { ready: this.readiness.promise, stop: async () => await this.stop() };
	}

	/** Stops consuming; held messages stay unacked and return to the queue with the connection. */
	async stop(): Promise<void> {
		this.stopped = true;
		this.nap.wake();
		this.reconnectNap.wake();
		await this.connection?.close().catch(() => undefined);
	}

	// --- Connection: connect, declare, consume, reconnect -------------------------------------------

	/** Connects and consumes until stopped, reconnecting after a broker or network failure. */
	private async connectUntilStopped(): Promise<void> {
		while (!this.stopped) {
			try {
				const current = await this.connect();
				this.connection = current;
				if ((await this.consumeUntilClosed(current)) === 'stopped') break;
			} catch (error) {
				await this.connectionFailed(error);
			}
			this.connection = undefined;
			// The worker drops what it held on the connection that went (and stops pausing on it).
			this.nap.wake();
			if (!this.stopped)
				await this.reconnectNap.sleep(this.reconnectDelay(Math.min(this.failuresInARow, 6) + 1));
		}
	}

	/**
	 * Consumes on a new connection until it closes; 'stopped' when stop() came while it was being set up
	 * (the connection is then closed without consuming).
	 */
	private async consumeUntilClosed(current: ChannelModel): Promise<'closed' | 'stopped'> {
		const closed = this.closeOf(current);
		const channel = await this.openChannel(current);
		// stop() may have come while connecting: it closed no connection yet, so close this one now
		// rather than consume on it (it would hold messages and the single-active-consumer slot).
		if (this.stopped) {
			await current.close().catch(() => undefined);
			return 'stopped';
		}
		await channel.consume(this.options.queue, (message) =>
			this.onDelivery(channel, current, message),
		);
		this.failuresInARow = 0;
		this.readiness.resolve();
		this.log('info', `Consuming "${this.options.queue}" one message at a time`);
		await closed;
		if (!this.stopped) this.log('warn', 'RabbitMQ connection closed; reconnecting');
		return 'closed';
	}

	/** Resolves when the connection closes; its errors are only logged (the close is what reconnects). */
	private closeOf(current: ChannelModel): Promise<void> {
		return new Promise<void>((resolve) => {
			current.on('close', () => resolve());
			current.on('error', (error: Error) =>
				this.log('warn', `RabbitMQ connection error: ${error.message}`),
			);
		});
	}

	/** Prepares the connection (e.g. declares the topology) and opens the channel to consume on. */
	private async openChannel(current: ChannelModel): Promise<Channel> {
		await this.options.prepare?.(current);
		const channel = await current.createChannel();
		channel.on('error', (error: Error) =>
			this.log('warn', `RabbitMQ channel error: ${error.message}`),
		);
		await channel.prefetch(Math.max(1, this.options.window ?? 1));
		return channel;
	}

	private async connectionFailed(error: unknown): Promise<void> {
		this.failuresInARow++;
		const message = error instanceof Error ? error.message : String(error);
		this.readiness.reject(error instanceof Error ? error : new Error(message));
		this.log('error', `RabbitMQ consumer could not start: ${message}`);
		await this.connection?.close().catch(() => undefined);
	}

	/** A new delivery is held for the worker; no delivery means the broker cancelled the consumer. */
	private onDelivery(
		channel: Channel,
		current: ChannelModel,
		message: ConsumeMessage | null,
	): void {
		if (!message) {
			this.log(
				'warn',
				`The queue "${this.options.queue}" was deleted or the consumer cancelled; reconnecting`,
			);
			void current.close().catch(() => undefined);
			return;
		}
		const id = message.properties.messageId ?? `(delivery ${message.fields.deliveryTag})`;
		const body = parseBody(message.content);
		const key = this.keyOfDelivery(message, id, body);
		this.log('debug', `Message ${id} delivered`);
		this.held.push({ message, channel, connection: current, id, key, notBefore: 0, body });
		this.nap.wake();
	}

	/** What a delivery is ordered by: its key, or itself when it is poison or its key cannot be read. */
	private keyOfDelivery(message: ConsumeMessage, id: string, body: Held['body']): string {
		try {
			return typeof body === 'string' ? `poison:${id}` : this.keyOf(message.content, id);
		} catch {
			return `event:${id}`;
		}
	}

	// --- The worker: one handling at a time ---------------------------------------------------------

	/** The one worker of this consumer: handles the held messages one at a time, in schedule order. */
	private async work(): Promise<void> {
		while (!this.stopped) {
			this.forgetReturned();
			const step = nextToRun(this.held, Date.now());
			if ('run' in step) {
				await this.handleHeld(step.run).catch((error: unknown) =>
					this.log('error', `Settling a message failed: ${String(error)}`),
				);
				continue;
			}
			await this.nap.sleep('waitUntil' in step ? step.waitUntil - Date.now() : 60_000);
		}
	}

	/**
	 * Whether a held message is no longer this consumer's to settle: its connection went, and the broker
	 * delivers it again.
	 */
	private isReturned(h: Held): boolean {
		return h.channel === undefined || h.connection !== this.connection;
	}

	private forgetReturned(): void {
		for (let i = this.held.length - 1; i >= 0; i--)
			if (this.isReturned(this.held[i])) this.held.splice(i, 1);
	}

	/** Handles one held message to its next settlement (acked, dead-lettered, or due again later). */
	private async handleHeld(h: Held): Promise<void> {
		if (typeof h.body === 'string') {
			await this.deadLetter(h, `poison message: ${h.body}`);
			return this.log('error', `Message ${h.id} goes to the dead-letter queue: ${h.body}`);
		}
		if (this.isRecentDuplicate(h)) {
			this.ack(h);
			return this.log('info', `Message ${h.id} was applied a moment ago: dropped as a duplicate`);
		}
		this.log('debug', `Message ${h.id} handled (attempt ${this.attemptsOf(h.id) + 1})`);
		let outcome: HandlerOutcome | undefined = await this.runHandler(this.queueMessageOf(h, h.body));
		if (!outcome.ok && outcome.failure.kind === 'lasting')
			outcome = await this.pause(h, h.body, outcome);
		// Stopped, or its connection went meanwhile: unacked, it returns to the queue with the connection.
		if (!outcome || this.stopped || this.isReturned(h)) return;
		this.log('debug', `Message ${h.id} handled: ${outcome.ok ? 'ok' : outcome.failure.reason}`);
		if (outcome.ok) return this.ack(h);
		await this.afterFailure(h, outcome.failure);
	}

	/** A message this consumer acked a moment ago (a duplicate from a relay retry), unless it is a replay. */
	private isRecentDuplicate(h: Held): boolean {
		const headers = (h.message.properties.headers ?? {}) as Record<string, unknown>;
		const messageId = h.message.properties.messageId as string | undefined;
		return Boolean(messageId && this.recent.has(messageId) && !headers['x-replayed-at']);
	}

	private attemptsOf(id: string): number {
		return this.failures.get(id) ?? 0;
	}

	private queueMessageOf(h: Held, body: Record<string, unknown>): QueueMessage {
		const attempts = this.attemptsOf(h.id);
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
	 * One run of the handler (or of `run`, a probe), bounded by the timeout; a run that outlives it stays
	 * `unfinished`.
	 */
	private async runHandler(
		queueMessage: QueueMessage,
		run: () => Promise<HandlerOutcome> = () => this.handle(queueMessage),
	): Promise<HandlerOutcome> {
		if (this.unfinished) await this.waitForUnfinished(this.unfinished, queueMessage);
		const timeout = this.handlerTimeout();
		const handling = run().catch((error: unknown): HandlerOutcome => ({
			ok: false,
			failure: failureOf(error),
		}));
		const tracked = handling.finally(() => {
			if (this.unfinished === tracked) this.unfinished = undefined;
		});
		this.unfinished = tracked;
		const outcome = await Promise.race([handling, timeout.expired]);
		timeout.cancel();
		return outcome;
	}

	/**
	 * The previous handling (before a reconnect or a timeout) is still running: two at once could double its
	 * effect. Waits for it, up to another timeout (then it counts as lost).
	 */
	private async waitForUnfinished(
		unfinished: Promise<unknown>,
		queueMessage: QueueMessage,
	): Promise<void> {
		this.log(
			'warn',
			`Message ${queueMessage.messageId} waits for an execution that has not ended yet`,
		);
		const limit = this.options.handlerTimeoutMs ?? 600_000;
		const waited = await Promise.race([
			unfinished.then(() => 'ended'),
			new Promise<string>((resolve) => setTimeout(() => resolve('still running'), limit).unref()),
		]);
		if (waited !== 'ended')
			this.log('error', `An execution did not end ${limit} ms after its timeout; going on`);
	}

	/** A retryable failure once `handlerTimeoutMs` has passed (never, without one); `cancel` when done. */
	private handlerTimeout(): { expired: Promise<HandlerOutcome>; cancel: () => void } {
		const timeoutMs = this.options.handlerTimeoutMs;
		let timer: NodeJS.Timeout | undefined;
		const expired = new Promise<HandlerOutcome>((resolve) => {
			if (timeoutMs === undefined) return;
			timer = setTimeout(
				() =>
					resolve({
						ok: false,
						failure: { kind: 'retryable', reason: `no result within ${timeoutMs} ms` },
					}),
				timeoutMs,
			);
			// A guard, not a reason to keep the process alive once the consumer is stopped.
			timer.unref();
		});
		return { expired, cancel: () => clearTimeout(timer) };
	}

	// --- Pause on a lasting failure -----------------------------------------------------------------

	/**
	 * A lasting failure: the queue pauses on this message, probing it every `probeMs`, until it goes through
	 * or fails otherwise. Held too long, every held message goes back to the queue (in order) and is taken again.
	 * Undefined when the message is no longer this consumer's to settle (stopped, returned).
	 */
	private async pause(
		h: Held,
		body: Record<string, unknown>,
		first: HandlerOutcome,
	): Promise<HandlerOutcome | undefined> {
		let outcome = first;
		const heldSince = Date.now();
		while (!outcome.ok && outcome.failure.kind === 'lasting' && !this.stopped) {
			if (this.isReturned(h)) return undefined;
			if (Date.now() - heldSince >= this.maxHoldMs) return this.returnHeldToQueue(h);
			this.log(
				'warn',
				`Paused: ${outcome.failure.reason}. Message ${h.id} is tried again every ${Math.round(this.probeMs / 1000)} s; the queue goes on once it succeeds.`,
			);
			await this.nap.sleep(this.probeMs);
			if (this.stopped || this.isReturned(h)) return undefined;
			outcome = await this.probeAndRunAgain(h, body, outcome.failure);
		}
		return outcome;
	}

	/**
	 * Brokers close a channel that holds a delivery longer than their consumer timeout (`maxHoldMs`): every
	 * message held on this one goes back to the queue, in order, and is taken again.
	 */
	private returnHeldToQueue(h: Held): undefined {
		this.log(
			'warn',
			`Message ${h.id} held ${Math.round(this.maxHoldMs / 60_000)} min while paused; the held messages go back to the queue and are taken again`,
		);
		h.channel.nackAll(true);
		this.held.splice(0, this.held.length, ...this.held.filter((x) => x.channel !== h.channel));
		return undefined;
	}

	/** One probe while paused (`options.probe`, or else the held message itself), then the message again. */
	private async probeAndRunAgain(
		h: Held,
		body: Record<string, unknown>,
		failure: Failure,
	): Promise<HandlerOutcome> {
		const probe = this.options.probe;
		const probed = probe
			? await this.runHandler(this.queueMessageOf(h, body), () =>
					probe(this.queueMessageOf(h, body), failure),
				)
			: undefined;
		// Still down: paused on; back (or a probe that says nothing): the held message runs again.
		return probed && !probed.ok && probed.failure.kind === 'lasting'
			? probed
			: await this.runHandler(this.queueMessageOf(h, body));
	}

	// --- Settlement: ack, retry, dead-letter --------------------------------------------------------

	private ack(h: Held): void {
		h.channel.ack(h.message);
		if (h.message.properties.messageId) this.recent.add(h.message.properties.messageId);
		this.failures.delete(h.id);
		this.release(h);
	}

	private async deadLetter(h: Held, reason: string): Promise<void> {
		await this.deadLetters.send(h.connection, h.channel, h.message, reason);
		this.options.onDeadLetter?.({ messageId: h.message.properties.messageId, reason });
		this.failures.delete(h.id);
		this.release(h);
	}

	private release(h: Held): void {
		const i = this.held.indexOf(h);
		if (i >= 0) this.held.splice(i, 1);
	}

	/** A failed handling: dead-lettered (poison, or out of attempts), or held for a retry after a backoff. */
	private async afterFailure(h: Held, { kind, reason }: Failure): Promise<void> {
		const failed = this.attemptsOf(h.id);
		const how =
			kind === 'poison' ? 'dead-letter' : settlementAfterFailure(failed, this.options.maxAttempts);
		if (how === 'dead-letter') {
			const why =
				kind === 'poison'
					? `poison message: ${reason}`
					: `failed on ${failed + 1} deliveries; last error: ${reason}`;
			await this.deadLetter(h, why);
			return this.log(
				'error',
				kind === 'poison'
					? `Message ${h.id} goes to the dead-letter queue: ${reason}`
					: `Message ${h.id} failed on delivery ${failed + 1} of ${this.options.maxAttempts} and goes to the dead-letter queue: ${reason}`,
			);
		}
		this.holdForRetry(h, failed, reason);
	}

	private holdForRetry(h: Held, failed: number, reason: string): void {
		this.failures.add(h.id, failed + 1);
		const delay = this.options.retryDelayMs(failed + 1);
		this.log(
			'warn',
			`Message ${h.id} failed on delivery ${failed + 1} of ${this.options.maxAttempts}; it is tried again in ${delay} ms: ${reason}`,
		);
		// Held meanwhile (unacked): later messages of its key wait behind it, the others go on.
		h.notBefore = Date.now() + delay;
	}
}

export function runConsumer(
	connect: () => Promise<ChannelModel>,
	options: ConsumerOptions,
	handle: (message: QueueMessage) => Promise<HandlerOutcome>,
): RunningConsumer {
	return new ConsumerRun(connect, options, handle).start();
}
