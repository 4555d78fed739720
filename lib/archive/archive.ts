/**
 * The durable inbox: leads and payment events as S3 objects under time-sortable keys, each event id once
 * (id markers), moved from pending/ to relayed/ by the relay. No n8n imports; the Webhook Archive node,
 * the fast-intake trigger and the tools all use this one module. What the archive knows of leads (their
 * revisions, their closed pay links) is the lead registry's (leadRegistry.ts); storing a verified event
 * together with closing its links is verifiedEvent.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
	CopyObjectCommand,
	DeleteObjectCommand,
	DeleteObjectsCommand,
	GetObjectCommand,
	HeadObjectCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	type PutObjectCommandInput,
	type S3Client,
} from '@aws-sdk/client-s3';

import { isNotFound, type ServerSideEncryption } from '../s3/client';
import {
	conditionalWritesHonoured,
	isConditionalConflict,
	isLostConditionalWrite,
	probeConditionalWrites,
} from '../s3/conditional';
import type { S3ObjectWriter } from '../s3/objectWriter';
import type { LeaseStore } from './lease';
import { mapInOrder } from '../util/concurrency';
import {
	type ArchiveState,
	idMarkerKey,
	leaseKey,
	moveKey,
	normalisePrefix,
	objectKey,
	parseKey,
	startAfterForTime,
	stateRoot,
} from './keys';

export type BodyFormat = 'json' | 'raw';

export interface StoreInput {
	body: Buffer;
	/** Given by the caller (gateway event id, lead id); when absent the body's sha256 is the id, so a retried identical body is a duplicate. */
	eventId?: string;
	/** What sent it: `stripe`, `mercadopago`, `lead`, … */
	source: string;
	contentType?: string;
	/** Request headers worth keeping (signature headers, request ids). */
	headers?: Record<string, string>;
	receivedAtMs?: number;
}

export interface StoredEvent {
	key: string;
	eventId: string;
	source: string;
	sha256: string;
	receivedAt: string;
	bodyFormat: BodyFormat;
	bytes: number;
	/** True when this event id was already archived: nothing new was written. */
	duplicate: boolean;
}

export interface ArchivedObject {
	key: string;
	body: Buffer;
	contentType: string;
	eventId: string;
	source: string;
	sha256: string;
	receivedAt: string;
	bodyFormat: BodyFormat;
	headers: Record<string, string>;
}

export interface ListedObject {
	key: string;
	receivedAtMs: number;
	safeEventId: string;
	size: number;
}

/** How id markers are written: see S3Archive.store. */
export type MarkerWrites = 'conditional' | 'check-first';

export interface ArchiveOptions {
	bucket: string;
	prefix: string;
	serverSideEncryption?: ServerSideEncryption;
	kmsKeyId?: string;
	/**
	 * Names the store (endpoint and bucket) so that whether it honours conditional writes is probed once per
	 * process, not once per archive; without it each archive probes on its first store.
	 */
	storeId?: string;
	/** Skips the probe (tests, and callers that know their store). */
	markerWrites?: MarkerWrites;
	/** Told once, when the probe has found how id markers are written here (for the log). */
	onMarkerWrites?: (mode: MarkerWrites) => void;
	/**
	 * Writes the intake's objects (event, id marker, closed-links marker) without the SDK (lib/s3/objectWriter):
	 * what the nodes use. Without it those writes go through the SDK client too.
	 */
	writer?: Pick<S3ObjectWriter, 'put'>;
}

/** One object write of the archive (and its lead registry). */
export interface ArchiveWrite {
	key: string;
	body: Buffer;
	contentType: string;
	metadata?: Record<string, string>;
	condition?: { IfNoneMatch: '*' } | { IfMatch: string };
	/** The body's SHA-256 in hex, when known (the writer signs it instead of hashing the body again). */
	sha256Hex?: string;
}

/** One store's writes, worked out before the first request (S3Archive.store). */
interface PendingEvent {
	body: Buffer;
	contentType: string;
	metadata: Record<string, string>;
	markerKey: string;
	stored: StoredEvent;
}

/** Thrown when S3 did not confirm a write: the caller must fail so that the sender retries. */
export class ArchiveWriteError extends Error {
	constructor(
		message: string,
		readonly cause: unknown,
	) {
		super(message);
		this.name = 'ArchiveWriteError';
	}
}

const HEADER_META_PREFIX = 'hdr-';

/** The waits before each look for the object a taken marker names (about 2 s in all: see `appears`). */
const OBJECT_APPEARS_WAITS_MS = [0, 50, 100, 250, 600, 1000];

let lastReceivedAtMs = 0;
/**
 * Receive time in ms, strictly increasing within this process, so that two events received in the same
 * millisecond still get distinct keys in arrival order (it drifts ahead of the clock by at most the
 * number of events received in one ms).
 */
export function monotonicNow(now = Date.now()): number {
	lastReceivedAtMs = Math.max(now, lastReceivedAtMs + 1);
	return lastReceivedAtMs;
}

export function sha256Hex(body: Buffer): string {
	return createHash('sha256').update(body).digest('hex');
}

/** `json` when the bytes parse as JSON, else `raw`: a body that is not JSON is kept as received, flagged. */
export function detectBodyFormat(body: Buffer): BodyFormat {
	try {
		JSON.parse(body.toString('utf8'));
		return 'json';
	} catch {
		return 'raw';
	}
}

function encodeMeta(value: string): string {
	// S3 user metadata travels in HTTP headers: ASCII only.
	return encodeURIComponent(value);
}

function decodeMeta(value: string | undefined): string {
	if (value === undefined) return '';
	try {
		return decodeURIComponent(value);
	} catch {
		return value;
	}
}

export class S3Archive {
	readonly bucket: string;
	readonly prefix: string;
	private markerWritesKnown?: Promise<MarkerWrites>;

	constructor(
		readonly s3: S3Client,
		private readonly options: ArchiveOptions,
	) {
		this.bucket = options.bucket;
		this.prefix = normalisePrefix(options.prefix);
	}

	/** The server-side encryption every write of this archive asks for (the lead registry's too). */
	encryption(): Partial<PutObjectCommandInput> {
		const sse = this.options.serverSideEncryption;
		if (!sse || sse === 'none') return {};
		return sse === 'aws:kms'
			? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.options.kmsKeyId || undefined }
			: { ServerSideEncryption: 'AES256' };
	}

	/** Writes one object: through the writer where the archive has one, else the SDK client. */
	async writeObject(write: ArchiveWrite): Promise<void> {
		const { key, body, contentType, metadata, condition, sha256Hex } = write;
		const writer = this.options.writer;
		if (writer) {
			const sse = this.encryption();
			const headers: Record<string, string> = {};
			if (condition && 'IfNoneMatch' in condition) headers['if-none-match'] = condition.IfNoneMatch;
			if (condition && 'IfMatch' in condition) headers['if-match'] = condition.IfMatch;
			if (sse.ServerSideEncryption)
				headers['x-amz-server-side-encryption'] = sse.ServerSideEncryption;
			if (sse.SSEKMSKeyId) headers['x-amz-server-side-encryption-aws-kms-key-id'] = sse.SSEKMSKeyId;
			await writer.put({ key, body, contentType, metadata, headers, sha256Hex });
			return;
		}
		await this.s3.send(
			new PutObjectCommand({
				Bucket: this.bucket,
				Key: key,
				Body: body,
				ContentType: contentType,
				Metadata: metadata,
				...condition,
				...this.encryption(),
			}),
		);
	}

	/**
	 * Stores one event as a pending object, unless its event id was stored before (its id marker says so).
	 *
	 * Two ways, by what the store honours (found out once per process: `markerWrites`):
	 * - `conditional` (AWS S3, MinIO): the object and its id marker are written at once, the marker with
	 *   `If-None-Match: *`, so one round trip and two requests do the store and the duplicate check.
	 * - `check-first` (stores that ignore conditions, such as s3rver unpatched): the marker is read beside
	 *   the object write and written after it; two concurrent stores of one id can both win there, and the
	 *   relay drops the later one within a page.
	 * Either way no marker is ever left pointing at an event that is lost: a marker whose object S3 did not
	 * confirm is taken over by the retry (`settleTakenMarker`), and a duplicate is answered as one only
	 * once the object its marker names is found.
	 */
	async store(input: StoreInput): Promise<StoredEvent> {
		const pending = this.pendingEvent(input);
		return (await this.markerWrites()) === 'conditional'
			? await this.storeWithConditionalMarker(pending)
			: await this.storeAfterDuplicateCheck(pending);
	}

	/**
	 * How this archive's id markers are written: `conditional` where the store honours `If-None-Match`,
	 * else `check-first`. Probed once per process and store (lib/s3/conditional), unless the options say.
	 */
	async markerWrites(): Promise<MarkerWrites> {
		if (this.options.markerWrites) return this.options.markerWrites;
		if (!this.markerWritesKnown) {
			const probe = async () =>
				await probeConditionalWrites(this.s3, this.bucket, leaseKey(this.prefix, 'probe-'));
			const known = (
				this.options.storeId ? conditionalWritesHonoured(this.options.storeId, probe) : probe()
			).then((honoured): MarkerWrites => (honoured ? 'conditional' : 'check-first'));
			this.markerWritesKnown = known;
			known.then(
				(mode) => this.options.onMarkerWrites?.(mode),
				() => (this.markerWritesKnown = undefined),
			);
		}
		try {
			return await this.markerWritesKnown;
		} catch (error) {
			throw new ArchiveWriteError(
				`S3 did not answer whether it honours conditional writes: ${describeS3Error(error)}`,
				error,
			);
		}
	}

	/** Everything one store writes, worked out before the first request. */
	private pendingEvent(input: StoreInput): PendingEvent {
		const sha256 = sha256Hex(input.body);
		const eventId =
			input.eventId && input.eventId.trim() !== '' ? input.eventId : `sha256:${sha256}`;
		const bodyFormat = detectBodyFormat(input.body);
		const receivedAtMs = input.receivedAtMs ?? monotonicNow();
		const receivedAt = new Date(receivedAtMs).toISOString();
		const key = objectKey(
			this.prefix,
			'pending',
			receivedAtMs,
			eventId,
			randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0'),
		);
		const metadata: Record<string, string> = {
			'event-id': encodeMeta(eventId),
			source: encodeMeta(input.source),
			sha256,
			'received-at': receivedAt,
			'body-format': bodyFormat,
		};
		for (const [name, value] of Object.entries(input.headers ?? {})) {
			metadata[HEADER_META_PREFIX + name.toLowerCase()] = encodeMeta(value);
		}
		return {
			body: input.body,
			contentType:
				input.contentType ||
				(bodyFormat === 'json' ? 'application/json' : 'application/octet-stream'),
			metadata,
			markerKey: idMarkerKey(this.prefix, eventId),
			stored: {
				key,
				eventId,
				source: input.source,
				sha256,
				receivedAt,
				bodyFormat,
				bytes: input.body.length,
				duplicate: false,
			},
		};
	}

	private async putObject(event: PendingEvent): Promise<void> {
		await this.writeObject({
			key: event.stored.key,
			body: event.body,
			contentType: event.contentType,
			metadata: event.metadata,
			sha256Hex: event.stored.sha256,
		});
	}

	/** Writes the id marker of `event`: created (`If-None-Match: *`) or swapped for one read before (`If-Match`). */
	private async putMarker(
		event: PendingEvent,
		condition: { IfNoneMatch: '*' } | { IfMatch: string } = { IfNoneMatch: '*' },
	): Promise<void> {
		const { key, eventId, source, sha256, receivedAt, bodyFormat } = event.stored;
		const body = Buffer.from(
			JSON.stringify({ key, eventId, source, sha256, receivedAt, bodyFormat }),
		);
		await retryOnConflict(() =>
			this.writeObject({
				key: event.markerKey,
				body,
				contentType: 'application/json',
				metadata: { 'object-key': encodeMeta(key) },
				condition,
			}),
		);
	}

	private async deleteQuietly(key: string): Promise<void> {
		await this.s3
			.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
			.catch(() => undefined);
	}

	private async storeWithConditionalMarker(event: PendingEvent): Promise<StoredEvent> {
		const { key } = event.stored;
		const [write, marker] = await Promise.allSettled([
			this.putObject(event),
			this.putMarker(event),
		]);
		if (marker.status === 'fulfilled') {
			if (write.status === 'fulfilled') return event.stored;
			// The marker now names an object S3 did not confirm. It stays: deleting it could race a retry that
			// already took it over; the retry finds it naming nothing and takes it over (settleTakenMarker).
			throw new ArchiveWriteError(
				`S3 did not confirm the write of ${key}: ${describeS3Error(write.reason)}`,
				write.reason,
			);
		}
		if (!isLostConditionalWrite(marker.reason)) {
			// The sender retries on this error: take the object back so that the retry is the only copy.
			if (write.status === 'fulfilled') await this.deleteQuietly(key);
			throw new ArchiveWriteError(
				`S3 did not confirm the id marker of ${key}: ${describeS3Error(marker.reason)}`,
				marker.reason,
			);
		}
		try {
			return await this.settleTakenMarker(event, write);
		} catch (error) {
			// The sender retries on this error: take the object back so that the retry is the only copy.
			if (write.status === 'fulfilled') await this.deleteQuietly(key);
			throw error;
		}
	}

	private async storeAfterDuplicateCheck(event: PendingEvent): Promise<StoredEvent> {
		const { key } = event.stored;
		// The duplicate check and the object write go out together: a new event (nearly every one) then
		// waits for two round trips instead of three. A duplicate costs a delete of the object just written;
		// should that delete fail, the leftover is a duplicate pending object, which the relay and the
		// consumer absorb as after a crash.
		const [marker, write] = await Promise.allSettled([
			this.readMarker(event.markerKey),
			this.putObject(event),
		]);
		if (marker.status === 'fulfilled' && marker.value) {
			if (write.status === 'fulfilled') await this.deleteQuietly(key);
			return { ...marker.value, duplicate: true };
		}
		if (write.status === 'rejected')
			throw new ArchiveWriteError(
				`S3 did not confirm the write of ${key}: ${describeS3Error(write.reason)}`,
				write.reason,
			);
		if (marker.status === 'rejected') {
			await this.deleteQuietly(key);
			throw marker.reason;
		}
		// Object first, then the marker: a crash between the two leaves an object without a marker (a
		// duplicate at worst, on retry), never a marker without an object.
		try {
			await this.putMarker(event);
			return event.stored;
		} catch (error) {
			if (isLostConditionalWrite(error)) {
				try {
					return await this.settleTakenMarker(event, { status: 'fulfilled', value: undefined });
				} catch (settleError) {
					await this.deleteQuietly(key);
					throw settleError;
				}
			}
			throw new ArchiveWriteError(
				`S3 did not confirm the id marker of ${key}: ${describeS3Error(error)}`,
				error,
			);
		}
	}

	/**
	 * The event's id marker was there before ours. Whose it is and whether its object exists decide:
	 * - it names our own object (our first try was written and its answer lost, then the SDK retried): stored;
	 * - it names an object that exists, pending or relayed: a duplicate, and ours is taken back;
	 * - it names nothing (a store that failed between its two writes, or one still writing): ours takes the
	 *   marker over with `If-Match`, so the event is never answered "duplicate" of an event that is not
	 *   there. A store still writing then leaves a second copy, which the relay and the consumer absorb.
	 */
	private async settleTakenMarker(
		event: PendingEvent,
		write: PromiseSettledResult<void>,
		triesLeft = 3,
	): Promise<StoredEvent> {
		const { key } = event.stored;
		const taken = await this.readMarkerEntry(event.markerKey);
		if (!taken)
			throw new ArchiveWriteError(
				`S3 refused the id marker of ${key} but has none: retry`,
				undefined,
			);
		if (taken.marker.key === key) return event.stored;
		if (await this.appears(taken.marker.key)) {
			if (write.status === 'fulfilled') await this.deleteQuietly(key);
			return { ...taken.marker, duplicate: true };
		}
		if (write.status === 'rejected')
			throw new ArchiveWriteError(
				`S3 did not confirm the write of ${key}: ${describeS3Error(write.reason)}`,
				write.reason,
			);
		try {
			await this.putMarker(event, { IfMatch: taken.etag });
			return event.stored;
		} catch (error) {
			if (isLostConditionalWrite(error) && triesLeft > 1)
				return await this.settleTakenMarker(event, write, triesLeft - 1);
			throw new ArchiveWriteError(
				`S3 did not confirm taking over the id marker of ${key}: ${describeS3Error(error)}`,
				error,
			);
		}
	}

	/**
	 * Whether the object a marker names is stored, waiting a little for it: a store of the same event in
	 * another process writes its marker and its object at once, so its object may land a moment after its
	 * marker. Only a marker that names nothing takes this wait (a concurrent copy, or a crashed store).
	 */
	private async appears(key: string): Promise<boolean> {
		for (const waitMs of OBJECT_APPEARS_WAITS_MS) {
			if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
			if (await this.exists(key)) return true;
		}
		return false;
	}

	/** Whether the object a marker names is stored, pending or relayed since (HEAD: its body is not needed). */
	private async exists(key: string): Promise<boolean> {
		for (const candidate of [key, moveKey(this.prefix, key, 'relayed')]) {
			try {
				await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: candidate }));
				return true;
			} catch (error) {
				if (!isNotFound(error))
					throw new ArchiveWriteError(
						`S3 did not answer whether ${candidate} exists: ${describeS3Error(error)}`,
						error,
					);
			}
		}
		return false;
	}

	/** What the id marker at `markerKey` records (the key of the object its event was stored under), or undefined. */
	async readMarker(markerKey: string): Promise<Omit<StoredEvent, 'duplicate'> | undefined> {
		return (await this.readMarkerEntry(markerKey))?.marker;
	}

	private async readMarkerEntry(
		markerKey: string,
	): Promise<{ marker: Omit<StoredEvent, 'duplicate'>; etag: string } | undefined> {
		try {
			const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: markerKey }));
			const text = (await res.Body?.transformToString('utf8')) ?? '';
			const marker = JSON.parse(text) as Omit<StoredEvent, 'duplicate' | 'bytes'>;
			return { marker: { ...marker, bytes: -1 }, etag: res.ETag ?? '' };
		} catch (error) {
			if (isNotFound(error)) return undefined;
			throw new ArchiveWriteError(
				`S3 did not answer the duplicate check ${markerKey}: ${describeS3Error(error)}`,
				error,
			);
		}
	}

	/** The object a relay lease lives in (see lease.ts for why a plain object is enough). */
	leaseStore(name: string): LeaseStore {
		const Key = leaseKey(this.prefix, name);
		return {
			read: async () => {
				try {
					const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
					return await res.Body?.transformToString('utf8');
				} catch (error) {
					if (isNotFound(error)) return undefined;
					throw error;
				}
			},
			write: async (body) => {
				await this.s3.send(
					new PutObjectCommand({
						Bucket: this.bucket,
						Key,
						Body: body,
						ContentType: 'application/json',
					}),
				);
			},
			remove: async () => {
				await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
			},
		};
	}

	/** The archived object of an event id (pending or already relayed), or undefined. */
	async findByEventId(eventId: string): Promise<ArchivedObject | undefined> {
		const marker = await this.readMarker(idMarkerKey(this.prefix, eventId));
		return marker ? await this.findStored(marker.key) : undefined;
	}

	/** The object stored under `key` (a marker's), whether still pending or relayed since; undefined when gone. */
	async findStored(key: string): Promise<ArchivedObject | undefined> {
		for (const candidate of [key, moveKey(this.prefix, key, 'relayed')]) {
			try {
				return await this.get(candidate);
			} catch (error) {
				if (!isNotFound(error)) throw error;
			}
		}
		return undefined;
	}

	async get(key: string): Promise<ArchivedObject> {
		const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
		const bytes = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
		const meta = res.Metadata ?? {};
		// Header names come from requests: a prototype-free object, so "__proto__" stays a plain key.
		const headers = Object.create(null) as Record<string, string>;
		for (const [name, value] of Object.entries(meta)) {
			if (name.startsWith(HEADER_META_PREFIX))
				headers[name.slice(HEADER_META_PREFIX.length)] = decodeMeta(value);
		}
		const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		return {
			key,
			body,
			contentType: res.ContentType ?? 'application/octet-stream',
			eventId: decodeMeta(meta['event-id']) || (parseKey(this.prefix, key)?.safeEventId ?? ''),
			source: decodeMeta(meta.source),
			sha256: meta.sha256 ?? sha256Hex(body),
			receivedAt:
				meta['received-at'] ??
				new Date(parseKey(this.prefix, key)?.receivedAtMs ?? 0).toISOString(),
			bodyFormat: meta['body-format'] === 'raw' ? 'raw' : 'json',
			headers,
		};
	}

	/**
	 * One page of a state folder in key (= receive time) order, starting after `startAfter`. Keys that
	 * are not archive objects (stray uploads) are skipped but still advance `lastKey`.
	 */
	async listPage(
		state: ArchiveState,
		opts: { startAfter?: string; fromMs?: number; maxKeys?: number } = {},
	): Promise<{ objects: ListedObject[]; lastKey?: string; truncated: boolean }> {
		const root = stateRoot(this.prefix, state);
		const startAfter =
			opts.startAfter ??
			(opts.fromMs !== undefined ? startAfterForTime(this.prefix, state, opts.fromMs) : undefined);
		const res = await this.s3.send(
			new ListObjectsV2Command({
				Bucket: this.bucket,
				Prefix: root,
				StartAfter: startAfter,
				MaxKeys: opts.maxKeys ?? 1000,
			}),
		);
		const objects: ListedObject[] = [];
		let lastKey: string | undefined;
		for (const item of res.Contents ?? []) {
			if (!item.Key) continue;
			lastKey = item.Key;
			const parsed = parseKey(this.prefix, item.Key);
			if (!parsed || parsed.state !== state) continue;
			objects.push({
				key: item.Key,
				receivedAtMs: parsed.receivedAtMs,
				safeEventId: parsed.safeEventId,
				size: item.Size ?? 0,
			});
		}
		return { objects, lastKey, truncated: res.IsTruncated === true };
	}

	/** Walks a state folder in key order, one page in memory at a time. */
	async *walk(
		state: ArchiveState,
		opts: { fromMs?: number; toMs?: number; pageSize?: number } = {},
	): AsyncGenerator<ListedObject[]> {
		let startAfter: string | undefined;
		let first = true;
		for (;;) {
			const page = await this.listPage(state, {
				startAfter,
				fromMs: first ? opts.fromMs : undefined,
				maxKeys: opts.pageSize ?? 1000,
			});
			first = false;
			let objects = page.objects;
			let done = !page.truncated || page.lastKey === undefined;
			if (opts.toMs !== undefined) {
				const within = objects.filter((o) => o.receivedAtMs <= opts.toMs!);
				if (within.length < objects.length) done = true;
				objects = within;
			}
			if (objects.length > 0) yield objects;
			if (done) return;
			startAfter = page.lastKey;
		}
	}

	/**
	 * Moves objects to another state folder: copy, then delete the source. A source already gone (another
	 * runner moved it) counts as moved. Copy keeps metadata.
	 */
	async move(keys: string[], to: ArchiveState, concurrency = 8): Promise<string[]> {
		const copied = await mapInOrder(keys, concurrency, async (key) => {
			try {
				await this.s3.send(
					new CopyObjectCommand({
						Bucket: this.bucket,
						Key: moveKey(this.prefix, key, to),
						CopySource: copySource(this.bucket, key),
						MetadataDirective: 'COPY',
						...this.encryption(),
					}),
				);
				return key;
			} catch (error) {
				if (isNotFound(error)) return undefined;
				throw error;
			}
		});
		// Delete only after every copy landed: a failed copy leaves its source pending, never lost.
		const moved = copied.filter((k): k is string => k !== undefined);
		await this.deleteKeys(moved);
		return moved.map((key) => moveKey(this.prefix, key, to));
	}

	/** Deletes keys in batches of 1000 (the DeleteObjects limit); fails loudly on any per-key error. */
	async deleteKeys(keys: string[]): Promise<void> {
		for (let i = 0; i < keys.length; i += 1000) {
			const batch = keys.slice(i, i + 1000);
			if (batch.length === 1) {
				await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: batch[0] }));
				continue;
			}
			const res = await this.s3.send(
				new DeleteObjectsCommand({
					Bucket: this.bucket,
					Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
				}),
			);
			if (res.Errors && res.Errors.length > 0) {
				const first = res.Errors[0];
				throw new Error(
					`S3 could not delete ${res.Errors.length} objects, e.g. ${first.Key}: ${first.Code} ${first.Message}`,
				);
			}
		}
	}

	/**
	 * Deletes relayed objects received before `beforeMs` (retention of personal data), with their id
	 * markers. Pending objects are never purged: they have not reached the queue yet.
	 */
	async purgeRelayed(
		beforeMs: number,
		limit = Number.POSITIVE_INFINITY,
	): Promise<{ deleted: number; lastKey?: string }> {
		let deleted = 0;
		let lastKey: string | undefined;
		for await (const page of this.walk('relayed', { toMs: beforeMs - 1 })) {
			const batch = page.slice(0, Math.max(0, limit - deleted));
			if (batch.length === 0) break;
			const markers = await Promise.all(batch.map(async (o) => this.markerFor(o.key)));
			await this.deleteKeys([
				...batch.map((o) => o.key),
				...markers.filter((m): m is string => !!m),
			]);
			deleted += batch.length;
			lastKey = batch[batch.length - 1].key;
			if (deleted >= limit) break;
		}
		return { deleted, lastKey };
	}

	private async markerFor(key: string): Promise<string | undefined> {
		try {
			const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
			const eventId = decodeMeta(res.Metadata?.['event-id']);
			return eventId ? idMarkerKey(this.prefix, eventId) : undefined;
		} catch (error) {
			if (isNotFound(error)) return undefined;
			throw error;
		}
	}
}

/**
 * A conditional write, sent again while S3 answers 409 ConditionalRequestConflict (another write of the
 * key was under way: S3 asks for a retry); the retry then gets the real answer (done, or 412).
 */
async function retryOnConflict<T>(write: () => Promise<T>, attempts = 5): Promise<T> {
	for (let attempt = 1; ; attempt++) {
		try {
			return await write();
		} catch (error) {
			if (!isConditionalConflict(error) || attempt >= attempts) throw error;
			await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
		}
	}
}

/**
 * CopySource encoded per path segment: works on AWS and on servers that decode it with decodeURI
 * (s3rver), where a fully encoded `%2F` would never be decoded.
 */
export function copySource(bucket: string, key: string): string {
	return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** An S3 SDK error as one line: its name, the HTTP status when there was an answer, and the message. */
export function describeS3Error(error: unknown): string {
	if (error instanceof Error) {
		const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
		return `${error.name}${status ? ` (HTTP ${status})` : ''}: ${error.message}`;
	}
	return String(error);
}
