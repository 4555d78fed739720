/**
 * Records several n8n processes share, on a ConditionalStore (store.ts): a record's data, and a lease in
 * the same object, so that taking the lease also reads the data and every write while holding it is one
 * conditional PUT.
 *
 *  - `holdRecord` / `withRecord`: a claim. Taking it is a conditional write of `{lease: {owner, token,
 *    expiresAt}}` over the version just read (or a create where there is none); it wins only if no other
 *    unexpired lease is there. While held, the holder renews it (a heartbeat, every third of its time to
 *    live) and saves its data with the same conditional writes; a write that loses means the lease was lost
 *    (it expired and another process took it over), and the holder stops with an error. Releasing writes
 *    the data without a lease. A crashed holder's lease expires; whoever takes it next finds the data as the
 *    crashed holder last saved it (for example an intent: "a create was sent at T"), and finishes its work.
 *  - `updateRecord`: a compare-and-swap loop without a lease, for small shared values (a counter, a budget).
 */
import { randomUUID } from 'node:crypto';

import { markFailure } from '../util/failure';
import type { ConditionalStore, Versioned } from './store';

interface LeaseStamp {
	owner: string;
	token: string;
	expiresAt: number;
}

interface StoredRecord<T> {
	data?: T;
	lease?: LeaseStamp;
}

/** This process, as a lease owner (with a random part: two processes on one host differ). */
export const PROCESS_OWNER = `${process.pid}-${randomUUID().slice(0, 8)}`;

export interface HoldOptions {
	/** A lease not renewed for this long is free to take. */
	ttlMs: number;
	/** How long to wait for a lease another holder has, before giving up with LeaseBusyError. */
	waitMs: number;
	pollMs?: number;
	owner?: string;
	now?: () => number;
	sleep?: (ms: number) => Promise<void>;
}

/** The lease stayed with another holder for longer than the caller would wait: retry the work later. */
export class LeaseBusyError extends Error {
	constructor(
		readonly key: string,
		readonly holder: string,
	) {
		super(`${key} is held by another n8n process (${holder}); try again later`);
		this.name = 'LeaseBusyError';
		markFailure(this, 'retryable');
	}
}

/** The holder's lease was taken over (it expired while the holder still worked): its work must stop. */
export class LeaseLostError extends Error {
	constructor(readonly key: string) {
		super(`The lease on ${key} was lost to another n8n process; the work stops and is tried again`);
		this.name = 'LeaseLostError';
		markFailure(this, 'retryable');
	}
}

function decode<T>(found: Versioned | undefined): StoredRecord<T> {
	if (!found || !found.body) return {};
	try {
		const parsed = JSON.parse(found.body) as StoredRecord<T>;
		return parsed && typeof parsed === 'object' ? parsed : {};
	} catch {
		return {}; // a torn or foreign object: no lease, no data
	}
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A record held under its lease. */
export class HeldRecord<T> {
	private stopped = false;
	private heartbeat?: NodeJS.Timeout;
	private renewing?: Promise<void>;
	private lost = false;

	constructor(
		private readonly store: ConditionalStore,
		readonly key: string,
		private version: string,
		private current: T | undefined,
		private readonly stamp: LeaseStamp,
		private readonly options: HoldOptions,
	) {}

	/** The data as the last holder saved it (undefined for a new record). */
	get data(): T | undefined {
		return this.current;
	}

	private expiry(): number {
		return (this.options.now ?? Date.now)() + this.options.ttlMs;
	}

	private async write(data: T | undefined, keepLease: boolean): Promise<void> {
		if (this.lost) throw new LeaseLostError(this.key);
		const next: StoredRecord<T> = {
			...(data === undefined ? {} : { data }),
			...(keepLease ? { lease: { ...this.stamp, expiresAt: this.expiry() } } : {}),
		};
		const version = await this.store.replace(this.key, JSON.stringify(next), this.version);
		if (version === undefined) {
			this.lost = true;
			throw new LeaseLostError(this.key);
		}
		this.version = version;
		this.current = data;
	}

	/** Saves the data, keeping the lease (and renewing it). */
	async save(data: T): Promise<void> {
		await this.renewing;
		await this.write(data, true);
	}

	/** Extends the lease; throws LeaseLostError when another holder has it now. */
	async renew(): Promise<void> {
		await this.write(this.current, true);
	}

	/** Renews the lease every third of its time to live until released. */
	startHeartbeat(): void {
		const every = Math.max(50, Math.floor(this.options.ttlMs / 3));
		this.heartbeat = setInterval(() => {
			if (this.stopped || this.renewing) return;
			this.renewing = this.renew()
				.catch(() => undefined) // noticed at the next save (lost), or the next beat (a passing fault)
				.finally(() => (this.renewing = undefined));
		}, every);
		this.heartbeat.unref();
	}

	/** Whether the lease is known lost (a heartbeat or a save found another holder). */
	get isLost(): boolean {
		return this.lost;
	}

	/** Writes the data without a lease: the next holder takes it at once. Does nothing once lost. */
	async release(data: T | undefined = this.current): Promise<void> {
		this.stopped = true;
		if (this.heartbeat) clearInterval(this.heartbeat);
		await this.renewing;
		if (this.lost) return;
		await this.write(data, false);
	}

	/** Stops the heartbeat without writing (the lease expires by itself): after an error. */
	abandon(): void {
		this.stopped = true;
		if (this.heartbeat) clearInterval(this.heartbeat);
	}
}

/** Takes the lease of `key` (waiting up to `waitMs` for another holder), and reads its data. */
export async function holdRecord<T>(
	store: ConditionalStore,
	key: string,
	options: HoldOptions,
): Promise<HeldRecord<T>> {
	const now = options.now ?? Date.now;
	const sleep = options.sleep ?? defaultSleep;
	const started = now();
	const stamp: LeaseStamp = {
		owner: options.owner ?? PROCESS_OWNER,
		token: randomUUID(),
		expiresAt: 0,
	};
	let holder = 'unknown';
	for (let round = 0; ; round++) {
		const found = await store.read(key);
		const record = decode<T>(found);
		const free = !record.lease || record.lease.expiresAt <= now();
		if (free) {
			const mine: StoredRecord<T> = {
				...(record.data === undefined ? {} : { data: record.data }),
				lease: { ...stamp, expiresAt: now() + options.ttlMs },
			};
			const body = JSON.stringify(mine);
			const version = found
				? await store.replace(key, body, found.version)
				: await store.create(key, body);
			if (version !== undefined)
				return new HeldRecord<T>(store, key, version, record.data, stamp, options);
		} else holder = record.lease!.owner;
		const waited = now() - started;
		if (waited >= options.waitMs) throw new LeaseBusyError(key, holder);
		const poll = options.pollMs ?? 100;
		// Jitter, so that waiting processes do not all come back in the same instant.
		await sleep(
			Math.min(
				options.waitMs - waited,
				poll * (1 + Math.min(round, 4) / 2) * (0.5 + Math.random()),
			),
		);
	}
}

/**
 * Runs `work` holding `key`'s lease (renewed meanwhile), then releases it with the data as `work` left it.
 * On an error too the lease is released, with the data as last saved: it says where the work stopped
 * (intents such as "a create was sent at T" included), so the next holder, often the retry of the same
 * message, can go on at once and finish it. A holder that crashes releases nothing: its lease expires.
 */
export async function withRecord<T, R>(
	store: ConditionalStore,
	key: string,
	options: HoldOptions,
	work: (held: HeldRecord<T>) => Promise<R>,
): Promise<R> {
	const held = await holdRecord<T>(store, key, options);
	held.startHeartbeat();
	let result: R;
	try {
		result = await work(held);
	} catch (error) {
		await held.release().catch(() => undefined);
		throw error;
	}
	await held.release();
	return result;
}

/** The data of a record, without taking its lease. */
export async function readRecord<T>(store: ConditionalStore, key: string): Promise<T | undefined> {
	return decode<T>(await store.read(key)).data;
}

/**
 * Changes a record's data by compare-and-swap (no lease): `change` gets the current data and returns the
 * next, or undefined to leave it; retried while another process's write comes first.
 */
export async function updateRecord<T>(
	store: ConditionalStore,
	key: string,
	change: (current: T | undefined) => T | undefined,
	attempts = 20,
): Promise<T | undefined> {
	for (let attempt = 1; ; attempt++) {
		const found = await store.read(key);
		const record = decode<T>(found);
		const next = change(record.data);
		if (next === undefined) return record.data;
		const body = JSON.stringify({ ...record, data: next });
		const version = found
			? await store.replace(key, body, found.version)
			: await store.create(key, body);
		if (version !== undefined) return next;
		if (attempt >= attempts)
			throw markFailure(
				new Error(`${key} kept changing under ${attempts} attempts to update it; try again`),
				'retryable',
			);
		await defaultSleep(5 + Math.random() * 20 * attempt);
	}
}

/**
 * A lease without data, taken without waiting, with the acquire/renew/release shape of the relay's lease:
 * one conditional PUT takes it, one renews it.
 */
export class ConditionalLease {
	private held?: HeldRecord<never>;

	constructor(
		private readonly store: ConditionalStore,
		private readonly key: string,
		readonly ttlMs: number,
	) {}

	async acquire(): Promise<boolean> {
		try {
			this.held = await holdRecord<never>(this.store, this.key, { ttlMs: this.ttlMs, waitMs: 0 });
			return true;
		} catch (error) {
			if (error instanceof LeaseBusyError) return false;
			throw error;
		}
	}

	async renew(): Promise<boolean> {
		if (!this.held) return false;
		try {
			await this.held.renew();
			return true;
		} catch (error) {
			if (error instanceof LeaseLostError) return false;
			throw error;
		}
	}

	async release(): Promise<void> {
		const held = this.held;
		this.held = undefined;
		await held?.release();
	}
}
