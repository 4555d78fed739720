/**
 * Turns the archive into an ordered stream: pending objects are published to RabbitMQ in key (receive
 * time) order on a confirm channel and moved to relayed/ only once the broker confirmed them. Replay
 * publishes a time range of relayed objects again. No n8n imports.
 */
import type { OutgoingMessage } from '../amqp/confirmPublisher';
import { requireMessageKey, routingKeyForKey, type MessageKey } from '../amqp/partitions';
import { MessageRefusedError } from '../amqp/confirmPublisher';
import { describeS3Error, type ArchivedObject, type ListedObject, type S3Archive } from './archive';
import type { RelayFailureRecord, RelayFailures } from './aside';
/**
 * What keeps two relay runs from overlapping (lease.ts's write-wait-read lease for stores without
 * conditional writes; lib/shared's conditional-write lease where the store honours them).
 */
export interface RelayLease {
	readonly ttlMs: number;
	acquire(): Promise<boolean>;
	/** False when another run holds it now (stop working then). */
	renew(): Promise<boolean>;
	release(): Promise<void>;
}
import { mapInOrder } from '../util/concurrency';

export interface Publisher {
	publish(
		exchange: string,
		routingKey: string,
		message: OutgoingMessage,
	): Promise<{ confirmed: Promise<void> }>;
}

export interface PublishTarget {
	exchange: string;
	routingKey: string;
	/** Per-lead partitions (lib/amqp/partitions.ts): each message goes to its lead's; 1 (the default) is the one queue. */
	partitions?: number;
	/** What a message is partitioned by (lib/checkout/message's partitionKeyOf); needed with partitions. */
	partitionKey?: MessageKey;
}

/** The routing key a message goes out with: the target's own, or its lead's partition's. */
function routingKeyFor(target: PublishTarget, object: ArchivedObject): string {
	const n = target.partitions ?? 1;
	return routingKeyForKey(target.routingKey, n, () =>
		requireMessageKey(n, target.partitionKey)(object.body, object.eventId),
	);
}

export interface RelayLimits {
	/** Objects per run at most. */
	maxItems: number;
	/** A run stops starting new pages after this long. */
	maxDurationMs: number;
	/** Objects listed, fetched and published per page: what the run holds in memory at once. */
	pageSize: number;
	/** Parallel GETs within a page (publishing stays in order). */
	fetchConcurrency: number;
}

export const DEFAULT_LIMITS: RelayLimits = {
	maxItems: 10_000,
	maxDurationMs: 50_000,
	pageSize: 250,
	fetchConcurrency: 16,
};

export type StopReason = 'empty' | 'maxItems' | 'maxDuration' | 'leaseLost' | 'busy' | 'rangeEnd';

export interface RelayReport {
	published: number;
	duplicatesSkipped: number;
	/** Objects that failed on their own this run and were skipped (tried again next run). */
	failedObjects?: Array<{ key: string; reason: string; tries: number }>;
	/** Objects moved aside this run after their last try, with why (skipped until brought back). */
	movedAside?: RelayFailureRecord[];
	/** Objects skipped because they had been moved aside before. */
	skippedAside?: number;
	pages: number;
	firstKey?: string;
	lastKey?: string;
	stoppedBy: StopReason;
	durationMs: number;
}

/** A run that stopped on an error; `report` says what was done (and safely recorded) before it. */
export class RelayError extends Error {
	constructor(
		message: string,
		readonly report: RelayReport,
		readonly cause: unknown,
	) {
		super(message);
		this.name = 'RelayError';
	}
}

/** `replay`: a deliberate second delivery (Replay), which consumers must not drop as a duplicate. */
export function messageFor(object: ArchivedObject, replay = false): OutgoingMessage {
	return {
		content: object.body,
		messageId: object.eventId,
		contentType: object.contentType,
		timestamp: Date.parse(object.receivedAt),
		headers: {
			'x-archive-key': object.key,
			'x-source': object.source,
			'x-received-at': object.receivedAt,
			'x-sha256': object.sha256,
			'x-body-format': object.bodyFormat,
			...Object.fromEntries(Object.entries(object.headers).map(([k, v]) => [`x-header-${k}`, v])),
			...(replay ? { 'x-replayed-at': new Date().toISOString() } : {}),
		},
	};
}

interface PageOutcome {
	confirmedKeys: string[];
	duplicateKeys: string[];
	/** Objects that failed on their own (their GET denied, their publish refused): the page went on. */
	objectFailures: Array<{ key: string; reason: string }>;
	/** What stopped the page (S3 or the broker failing as a whole). */
	failure?: unknown;
}

/**
 * A failure of one object rather than of S3 or the broker: S3 refusing this object's GET with a client
 * error (403 access denied, a KMS key it may not use), or the broker refusing this one message (a nack).
 * A server error or no answer says nothing about the object: the run stops, as for an outage.
 */
function isObjectFault(error: unknown): boolean {
	if (error instanceof MessageRefusedError) return true;
	const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
	return status !== undefined && status >= 400 && status < 500 && status !== 404;
}

/** Publishes one page in key order and waits for every confirm; one copy per event id. */
async function publishPage(
	archive: S3Archive,
	publisher: Publisher,
	target: PublishTarget,
	listed: ListedObject[],
	concurrency: number,
	replay = false,
	/** Whether an object's own fault skips it (the relay) or stops the page (a replay). */
	skipFaultyObjects = false,
): Promise<PageOutcome> {
	const outcome: PageOutcome = { confirmedKeys: [], duplicateKeys: [], objectFailures: [] };
	let fetched: Array<ArchivedObject | undefined>;
	try {
		// Every copy is read, and the duplicates are told apart only after: a copy can vanish between the
		// listing and its GET (the intake's race loser deletes its own), and the copy that stays must then
		// be the one published, not moved aside as the duplicate of one that is gone.
		fetched = await mapInOrder(listed, concurrency, async (o) => {
			try {
				return await archive.get(o.key);
			} catch (error) {
				// Moved or deleted since the listing (an overlapping run, a race loser): nothing to do for it.
				if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
				if (skipFaultyObjects && isObjectFault(error)) {
					outcome.objectFailures.push({ key: o.key, reason: `GET: ${describeS3Error(error)}` });
					return undefined;
				}
				throw error;
			}
		});
	} catch (error) {
		return { ...outcome, failure: error };
	}
	// A second copy with the same event id (a race that conditional writes would have stopped) is not
	// published again: it goes to relayed/ with the copy that is.
	const seen = new Set<string>();
	const objects: ArchivedObject[] = [];
	fetched.forEach((object, i) => {
		if (!object) return;
		if (seen.has(listed[i].safeEventId)) outcome.duplicateKeys.push(listed[i].key);
		else {
			seen.add(listed[i].safeEventId);
			objects.push(object);
		}
	});
	const pending: Array<{ key: string; confirmed: Promise<void> }> = [];
	try {
		for (const object of objects) {
			const { confirmed } = await publisher.publish(
				target.exchange,
				routingKeyFor(target, object),
				messageFor(object, replay),
			);
			pending.push({ key: object.key, confirmed });
		}
	} catch (error) {
		outcome.failure = error;
	}
	const settled = await Promise.allSettled(pending.map((p) => p.confirmed));
	settled.forEach((result, i) => {
		if (result.status === 'fulfilled') outcome.confirmedKeys.push(pending[i].key);
		else if (skipFaultyObjects && isObjectFault(result.reason))
			outcome.objectFailures.push({
				key: pending[i].key,
				reason: `publish: ${errorText(result.reason)}`,
			});
		else outcome.failure ??= result.reason;
	});
	return outcome;
}

/**
 * Renews a run's lease in the background, every third of its TTL. Renewed while a page is in flight too
 * (slow S3, a broker slow to confirm): a page longer than the lease's TTL must not let a second sweep take
 * over a live run.
 */
class LeaseHeartbeat {
	/** A renewal said another run holds the lease now: stop working. */
	lost = false;
	private renewing: Promise<void> | undefined;
	private readonly timer: ReturnType<typeof setInterval>;

	constructor(private readonly lease: RelayLease) {
		this.timer = setInterval(
			() => {
				this.renewing ??= lease
					.renew()
					.then((held) => {
						if (!held) this.lost = true;
					})
					.catch(() => undefined)
					.finally(() => (this.renewing = undefined));
			},
			Math.max(50, Math.floor(lease.ttlMs / 3)),
		);
		this.timer.unref();
	}

	/** Between pages: after any renewal in flight, one more; false when the lease is lost. */
	async renewNow(): Promise<boolean> {
		await this.renewing;
		return !(this.lost || !(await this.lease.renew()));
	}

	/** No more renewals; waits for one in flight. */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		await this.renewing;
	}
}

export async function relayPending(
	archive: S3Archive,
	publisher: Publisher,
	target: PublishTarget,
	limits: RelayLimits,
	lease?: RelayLease,
	now: () => number = Date.now,
	/**
	 * Where failures of single objects are counted (aside.ts): such an object is skipped and the run goes
	 * on, and after its tries it is moved aside. Without it, any failure stops the run (a replay's way).
	 */
	failures?: RelayFailures,
): Promise<RelayReport> {
	const started = now();
	const report: RelayReport = {
		published: 0,
		duplicatesSkipped: 0,
		pages: 0,
		stoppedBy: 'empty',
		durationMs: 0,
	};
	const finish = (reason: StopReason) => {
		report.stoppedBy = reason;
		report.durationMs = now() - started;
		return report;
	};
	if (lease && !(await lease.acquire())) return finish('busy');
	const heartbeat = lease ? new LeaseHeartbeat(lease) : undefined;
	try {
		const known = failures ? await failures.current() : undefined;
		if (failures) {
			report.failedObjects = [];
			report.movedAside = [];
			report.skippedAside = 0;
		}
		let cursor: string | undefined;
		for (;;) {
			const remaining = limits.maxItems - report.published - report.duplicatesSkipped;
			if (remaining <= 0) return finish('maxItems');
			if (now() - started >= limits.maxDurationMs) return finish('maxDuration');
			if (heartbeat?.lost) return finish('leaseLost');
			if (heartbeat && report.pages > 0 && !(await heartbeat.renewNow()))
				return finish('leaseLost');

			const page = await archive.listPage('pending', {
				startAfter: cursor,
				maxKeys: Math.min(limits.pageSize, remaining),
			});
			report.pages++;
			// Objects moved aside are skipped without a try (brought back by Re-Drive).
			const listed = known ? page.objects.filter((o) => !known.aside.has(o.key)) : page.objects;
			if (report.skippedAside !== undefined)
				report.skippedAside += page.objects.length - listed.length;
			if (listed.length > 0) {
				const outcome = await relayListed(archive, publisher, target, limits, listed, report, {
					skipFaultyObjects: failures !== undefined,
				});
				if (failures && known) await countFailures(failures, known.trying, outcome, report);
				if (outcome.failure !== undefined) {
					finish('empty');
					throw new RelayError(
						`Relay stopped after ${report.published} confirmed messages: ${errorText(outcome.failure)}. ` +
							'Objects not confirmed stay pending and go out on the next run.',
						report,
						outcome.failure,
					);
				}
			}
			if (!page.truncated || page.lastKey === undefined) return finish('empty');
			cursor = page.lastKey;
		}
	} finally {
		await heartbeat?.stop();
		if (lease) await lease.release().catch(() => undefined);
	}
}

/**
 * Publishes one listed page of pending objects and moves what went out to relayed/, counting it in
 * `report`. A failure is in the outcome, for the caller to stop on once the failures are counted.
 */
async function relayListed(
	archive: S3Archive,
	publisher: Publisher,
	target: PublishTarget,
	limits: RelayLimits,
	listed: ListedObject[],
	report: RelayReport,
	/** Whether an object's own fault skips it (failures are counted) or stops the run. */
	{ skipFaultyObjects }: { skipFaultyObjects: boolean },
): Promise<PageOutcome> {
	const outcome = await publishPage(
		archive,
		publisher,
		target,
		listed,
		limits.fetchConcurrency,
		false,
		skipFaultyObjects,
	);
	// Only what the broker confirmed is marked relayed, also when the page failed half way.
	await archive.move(
		[...outcome.confirmedKeys, ...outcome.duplicateKeys],
		'relayed',
		limits.fetchConcurrency,
	);
	report.published += outcome.confirmedKeys.length;
	report.duplicatesSkipped += outcome.duplicateKeys.length;
	if (outcome.confirmedKeys.length > 0) {
		report.firstKey ??= outcome.confirmedKeys[0];
		report.lastKey = outcome.confirmedKeys[outcome.confirmedKeys.length - 1];
	}
	return outcome;
}

/**
 * Counts this page's failures of single objects (moving aside those out of tries) and forgets earlier
 * failures of objects that went through now. A count that cannot be written stops the run: S3 is failing
 * as a whole then.
 */
async function countFailures(
	failures: RelayFailures,
	trying: Set<string>,
	outcome: PageOutcome,
	report: RelayReport,
): Promise<void> {
	for (const { key, reason } of outcome.objectFailures) {
		const record = await failures.recordFailure(key, reason);
		trying.add(key);
		if (record.asideAt) report.movedAside!.push(record);
		else report.failedObjects!.push({ key, reason: record.reason, tries: record.tries });
	}
	const recovered = outcome.confirmedKeys.filter((k) => trying.delete(k));
	if (recovered.length) await failures.cleared(recovered);
}

/** Publishes relayed objects received between `fromMs` and `toMs` (inclusive) again, in order. */
export async function replayRange(
	archive: S3Archive,
	publisher: Publisher,
	target: PublishTarget,
	range: { fromMs: number; toMs: number },
	limits: RelayLimits,
	now: () => number = Date.now,
): Promise<RelayReport> {
	const started = now();
	const report: RelayReport = {
		published: 0,
		duplicatesSkipped: 0,
		pages: 0,
		stoppedBy: 'rangeEnd',
		durationMs: 0,
	};
	for await (const page of archive.walk('relayed', {
		fromMs: range.fromMs,
		toMs: range.toMs,
		pageSize: limits.pageSize,
	})) {
		report.pages++;
		const room = limits.maxItems - report.published;
		const outcome = await publishPage(
			archive,
			publisher,
			target,
			page.slice(0, room),
			limits.fetchConcurrency,
			true,
		);
		report.published += outcome.confirmedKeys.length;
		report.duplicatesSkipped += outcome.duplicateKeys.length;
		report.firstKey ??= outcome.confirmedKeys[0];
		report.lastKey = outcome.confirmedKeys[outcome.confirmedKeys.length - 1] ?? report.lastKey;
		if (outcome.failure !== undefined) {
			report.durationMs = now() - started;
			throw new RelayError(
				`Replay stopped after ${report.published} confirmed messages: ${errorText(outcome.failure)}`,
				report,
				outcome.failure,
			);
		}
		if (report.published >= limits.maxItems) {
			report.stoppedBy = 'maxItems';
			break;
		}
		if (now() - started >= limits.maxDurationMs) {
			report.stoppedBy = 'maxDuration';
			break;
		}
	}
	report.durationMs = now() - started;
	return report;
}

function errorText(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
