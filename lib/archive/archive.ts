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

import { isNotFound, isPreconditionFailed, type ServerSideEncryption } from '../s3/client';
import { isConditionalConflict } from '../s3/conditional';
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

export interface ArchiveOptions {
	bucket: string;
	prefix: string;
	serverSideEncryption?: ServerSideEncryption;
	kmsKeyId?: string;
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

	/**
	 * Stores one event as a pending object, unless its event id was stored before.
	 *
	 * Order of writes: the object first (alongside the duplicate check), then the id marker. A crash between the two leaves an object
	 * without a marker, so a retry writes a second pending object (a duplicate that the relay and the
	 * consumer both absorb), never a marker without an object (which would lose the event). The marker
	 * is written with If-None-Match where the store honours it; where it does not (s3rver), two
	 * concurrent stores of one id can both win, and the relay drops the later one within a page.
	 */
	async store(input: StoreInput): Promise<StoredEvent> {
		const sha256 = sha256Hex(input.body);
		const eventId =
			input.eventId && input.eventId.trim() !== '' ? input.eventId : `sha256:${sha256}`;
		const bodyFormat = detectBodyFormat(input.body);
		const markerKey = idMarkerKey(this.prefix, eventId);

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
		const contentType =
			input.contentType ||
			(bodyFormat === 'json' ? 'application/json' : 'application/octet-stream');
		const stored: StoredEvent = {
			key,
			eventId,
			source: input.source,
			sha256,
			receivedAt,
			bodyFormat,
			bytes: input.body.length,
			duplicate: false,
		};

		// The duplicate check and the object write go out together: a new event (nearly every one) then
		// waits for two round trips instead of three, which is the buyer's wait on the lead path. A
		// duplicate costs a delete of the object just written; should that delete fail, the leftover is a
		// duplicate pending object, which the relay and the consumer absorb as after a crash.
		const [marker, write] = await Promise.allSettled([
			this.readMarker(markerKey),
			this.s3.send(
				new PutObjectCommand({
					Bucket: this.bucket,
					Key: key,
					Body: input.body,
					ContentType: contentType,
					Metadata: metadata,
					...this.encryption(),
				}),
			),
		]);
		if (marker.status === 'fulfilled' && marker.value) {
			if (write.status === 'fulfilled')
				await this.s3
					.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
					.catch(() => undefined);
			return { ...marker.value, duplicate: true };
		}
		if (write.status === 'rejected')
			throw new ArchiveWriteError(
				`S3 did not confirm the write of ${key}: ${describeS3Error(write.reason)}`,
				write.reason,
			);
		if (marker.status === 'rejected') {
			// The sender retries on this error: take the object back so that the retry is the only copy.
			await this.s3
				.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
				.catch(() => undefined);
			throw marker.reason;
		}

		try {
			await retryOnConflict(() =>
				this.s3.send(
					new PutObjectCommand({
						Bucket: this.bucket,
						Key: markerKey,
						Body: JSON.stringify({
							key,
							eventId,
							source: input.source,
							sha256,
							receivedAt,
							bodyFormat,
						}),
						ContentType: 'application/json',
						IfNoneMatch: '*',
						Metadata: { 'object-key': encodeMeta(key) },
						...this.encryption(),
					}),
				),
			);
		} catch (error) {
			if (isPreconditionFailed(error)) {
				// 412: a marker exists. It may be our own: the first try was written and its answer lost, then the
				// client retried. Whose key it points to decides; nothing is deleted before that is known.
				const winner = await this.readMarker(markerKey);
				if (!winner)
					throw new ArchiveWriteError(
						`S3 refused the id marker of ${key} but has none: retry`,
						error,
					);
				if (winner.key === key) return stored;
				// Another store of the same id won the marker: ours is the duplicate.
				await this.s3
					.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }))
					.catch(() => undefined);
				return { ...winner, duplicate: true };
			}
			throw new ArchiveWriteError(
				`S3 did not confirm the id marker of ${key}: ${describeS3Error(error)}`,
				error,
			);
		}
		return stored;
	}

	/** What the id marker at `markerKey` records (the key of the object its event was stored under), or undefined. */
	async readMarker(markerKey: string): Promise<Omit<StoredEvent, 'duplicate'> | undefined> {
		try {
			const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: markerKey }));
			const text = (await res.Body?.transformToString('utf8')) ?? '';
			const marker = JSON.parse(text) as Omit<StoredEvent, 'duplicate' | 'bytes'>;
			return { ...marker, bytes: -1 };
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
