/**
 * A lease over a plain key-value store that has read-after-write consistency but no conditional writes
 * (S3-compatible servers such as s3rver; AWS S3 before If-None-Match). Used so that two relay runs that
 * overlap (a schedule firing twice, two n8n mains) do not relay the same objects at the same time.
 *
 * How it works ("write, wait, read back"):
 *   1. Read the lease. If another owner holds it and it has not expired, give up.
 *   2. Write {owner, token, expiresAt} — but only if step 1 took less than half the settle time, so that a
 *      contender's read-to-write gap is always shorter than the wait below.
 *   3. Wait the settle time, then read it back. Last writer wins: only the contender whose write landed
 *      last reads its own token, so at most one of those that raced in the same window goes ahead.
 *   4. While working, renew before each unit of work; a renewal that finds another owner stops the run.
 *
 * What it cannot guarantee without conditional writes: a write delayed in the network past the settle
 * time can still steal a held lease; the holder notices at its next renewal, so two runs overlap for at
 * most one page. That overlap is harmless by design: the relay only ever publishes an object that is
 * still pending and every message carries its event id as message id, so the consumer drops the copy.
 * The lease is for efficiency and tidy order, idempotency is what keeps effects single.
 */
import { randomUUID } from 'node:crypto';

export interface LeaseStore {
	read(): Promise<string | undefined>;
	write(body: string): Promise<void>;
	remove(): Promise<void>;
}

interface LeaseRecord {
	owner: string;
	token: string;
	expiresAt: number;
}

export interface LeaseOptions {
	owner?: string;
	ttlMs: number;
	settleMs: number;
	now?: () => number;
	sleep?: (ms: number) => Promise<void>;
}

export class Lease {
	readonly owner: string;
	private token = '';
	private readonly now: () => number;
	private readonly sleep: (ms: number) => Promise<void>;

	constructor(
		private readonly store: LeaseStore,
		private readonly options: LeaseOptions,
	) {
		this.owner = options.owner ?? randomUUID();
		this.now = options.now ?? Date.now;
		this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
	}

	/** How long a write of the lease holds it: renew well within this. */
	get ttlMs(): number {
		return this.options.ttlMs;
	}

	private async current(): Promise<LeaseRecord | undefined> {
		const text = await this.store.read();
		if (!text) return undefined;
		try {
			const record = JSON.parse(text) as LeaseRecord;
			return typeof record.owner === 'string' && typeof record.expiresAt === 'number'
				? record
				: undefined;
		} catch {
			return undefined; // a torn or foreign object is no lease
		}
	}

	/** The holder, when somebody else holds an unexpired lease. */
	async heldBy(): Promise<string | undefined> {
		const record = await this.current();
		return record && record.owner !== this.owner && record.expiresAt > this.now()
			? record.owner
			: undefined;
	}

	async acquire(): Promise<boolean> {
		const started = this.now();
		const record = await this.current();
		if (
			record &&
			record.expiresAt > this.now() &&
			!(record.owner === this.owner && record.token === this.token)
		) {
			return false;
		}
		if (this.now() - started > this.options.settleMs / 2) return false;
		this.token = randomUUID();
		await this.write();
		await this.sleep(this.options.settleMs);
		const after = await this.current();
		return after?.owner === this.owner && after.token === this.token;
	}

	/** Extends the lease; false when somebody else now holds it (stop working then). */
	async renew(): Promise<boolean> {
		const record = await this.current();
		if (!record || record.owner !== this.owner || record.token !== this.token) return false;
		await this.write();
		return true;
	}

	async release(): Promise<void> {
		const record = await this.current();
		if (record && record.owner === this.owner && record.token === this.token)
			await this.store.remove();
	}

	private async write(): Promise<void> {
		const record: LeaseRecord = {
			owner: this.owner,
			token: this.token,
			expiresAt: this.now() + this.options.ttlMs,
		};
		await this.store.write(JSON.stringify(record));
	}
}
