/**
 * What every n8n process working on one Pipedrive account must agree on, kept in a ConditionalStore
 * (lib/shared): in the archive's S3 bucket when the node has the S3 credential (every process of the
 * install sees it), else in this process's memory (one process only; docs/scaling.md).
 *
 *  - a lead's record: its deal (the lead → deal map: the second event of a lead searches nothing), held
 *    under a lease while a Pipedrive operation works on the lead, so that two executions of one lead's
 *    messages never run at once in two processes (a redelivery after the main restarted while a worker
 *    still ran the first);
 *  - a buyer's record (by a hash of the e-mail): their person, held while a lead of theirs may create it,
 *    so that two leads of one buyer in two partitions never both create a person;
 *  - the rules run (one at a time per account) with the round-robin counter;
 *  - field setup (one at a time per account);
 *  - the search budget: Pipedrive allows 10 searches per 2 s per account, whatever the number of workers.
 *
 * A create that a crash may have cut short is recorded as an intent first ("a person create was sent at
 * T"); the next holder finds it and reconciles: it looks for what may have been made, allowing for
 * Pipedrive's search lagging behind writes, before it creates anything again.
 */
import { createHash } from 'node:crypto';

import { keySafeEventId } from '../archive/keys';
import {
	readRecord,
	updateRecord,
	withRecord,
	type HeldRecord,
	type HoldOptions,
} from '../shared/record';
import { MemoryConditionalStore, type ConditionalStore } from '../shared/store';

export interface LeadRecord {
	dealId?: number;
	/** A deal create for this lead was sent at this time (ms) and its id not recorded yet. */
	creatingDealAt?: number;
}

export interface BuyerRecord {
	personId?: number;
	/** A person create for this buyer was sent at this time (ms) and its id not recorded yet. */
	creatingPersonAt?: number;
	/** Leads of the last hour that got Pipedrive work, oldest first (Upsert Lead's cap per buyer). */
	recentLeads?: Array<{ leadId: string; dealId: number; at: number }>;
}

export interface RulesRecord {
	/** Where round robin continues (lib/checkout/rules). */
	roundRobin?: number;
	/** The last run that went through (wall-clock times, ms), for the next run's listing. */
	lastRun?: {
		at: number;
		/** When a run last listed every open deal. */
		fullAt: number;
		/** The rules and pipeline it ran (a change lists everything again). */
		rulesKey: string;
	};
}

interface BudgetRecord {
	/** Start times (ms) of the searches of the last window. */
	searches: number[];
}

export interface PipedriveSharedOptions {
	/** A holder that stops renewing (a dead process) loses its lease after this long. */
	leaseTtlMs?: number;
	/** How long an operation waits for a lead or buyer another process holds, before it fails (and is retried). */
	waitMs?: number;
	/**
	 * How long Pipedrive's search may lag behind its writes: a create recorded as an intent is looked for
	 * by search until this long after it was sent, before it is made again.
	 */
	searchSettleMs?: number;
}

export const SEARCH_WINDOW_MS = 2000;
export const SEARCHES_PER_WINDOW = 10;
/** How much longer than the window a shared search slot is held (see searchSlot). */
const SEARCH_SLOT_MARGIN_MS = 500;

const hash = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 32);

export class PipedriveShared {
	readonly searchSettleMs: number;
	private readonly hold: HoldOptions;
	private readonly base: string;

	constructor(
		readonly store: ConditionalStore,
		account: string,
		options: PipedriveSharedOptions = {},
	) {
		// Keys name no person and no account: an e-mail or a token never appears in a key.
		this.base = `pipedrive/${hash(account)}/`;
		this.searchSettleMs = options.searchSettleMs ?? 10_000;
		this.hold = {
			ttlMs: options.leaseTtlMs ?? 30_000,
			waitMs: options.waitMs ?? 120_000,
		};
	}

	/** Whether every n8n process sees this state (S3), or only this one. */
	get sharedAcrossProcesses(): boolean {
		return this.store.sharedAcrossProcesses;
	}

	leadKey(leadId: string): string {
		return `${this.base}leads/${keySafeEventId(leadId)}`;
	}

	/** Works on a lead holding its record (see the module comment). */
	async withLead<R>(
		leadId: string,
		work: (held: HeldRecord<LeadRecord>) => Promise<R>,
	): Promise<R> {
		return await withRecord(this.store, this.leadKey(leadId), this.hold, work);
	}

	/** The deal the lead → deal map has for a lead, without holding it. */
	async dealOfLead(leadId: string): Promise<number | undefined> {
		return (await readRecord<LeadRecord>(this.store, this.leadKey(leadId)))?.dealId;
	}

	/** Works on a buyer (by e-mail, case ignored) holding their record. */
	async withBuyer<R>(
		email: string,
		work: (held: HeldRecord<BuyerRecord>) => Promise<R>,
	): Promise<R> {
		return await withRecord(
			this.store,
			`${this.base}buyers/${hash(email.trim().toLowerCase())}`,
			this.hold,
			work,
		);
	}

	/** One rules run at a time per account, across processes; a run waits up to `waitMs` for another. */
	async withRules<R>(
		work: (held: HeldRecord<RulesRecord>) => Promise<R>,
		waitMs = this.hold.waitMs,
	): Promise<R> {
		return await withRecord(this.store, `${this.base}rules`, { ...this.hold, waitMs }, work);
	}

	/** One field setup at a time per account, across processes. */
	async withSetup<R>(work: () => Promise<R>): Promise<R> {
		return await withRecord(this.store, `${this.base}setup`, this.hold, async () => await work());
	}

	/**
	 * Waits for a search slot of the account's budget (10 per 2 s), shared by every process: each search
	 * takes one by a compare-and-swap of the window's start times.
	 */
	async searchSlot(now: () => number = Date.now): Promise<void> {
		const key = `${this.base}search-budget`;
		for (;;) {
			let waitMs = 0;
			let takenAt = 0;
			await updateRecord<BudgetRecord>(this.store, key, (current) => {
				const t = now();
				takenAt = t;
				// A slot counts for a margin longer than the window: the time noted is taken before the write
				// lands and the search is sent, and Pipedrive's clock starts its window when the search arrives.
				const held = SEARCH_WINDOW_MS + SEARCH_SLOT_MARGIN_MS;
				const recent = (current?.searches ?? []).filter((s) => t - s < held);
				if (recent.length < SEARCHES_PER_WINDOW) {
					waitMs = 0;
					return { searches: [...recent, t] };
				}
				waitMs = held - (t - recent[0]);
				return undefined;
			});
			// A slot whose write took long (many processes at once) was noted too early to cover the search
			// sent now: it stays counted (on the safe side) and another is taken.
			if (waitMs <= 0 && now() - takenAt <= SEARCH_SLOT_MARGIN_MS / 2) return;
			if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
		}
	}
}

/** One memory store per process: the state of nodes without the S3 credential (one process only). */
let processStore = new MemoryConditionalStore();
const processShared = new Map<string, PipedriveShared>();

/** This process's own state for an account (no S3 credential on the node). */
export function processLocalShared(account: string): PipedriveShared {
	let shared = processShared.get(account);
	if (!shared) {
		shared = new PipedriveShared(processStore, account);
		processShared.set(account, shared);
	}
	return shared;
}

/** For tests: forget this process's own state, as a restart does. */
export function clearProcessLocalShared(): void {
	processStore = new MemoryConditionalStore();
	processShared.clear();
}
