/**
 * A key-value store with conditional writes: the ground every piece of state that several n8n processes
 * share stands on (claims, leases, the lead → deal map, counters). A write names the version it replaces
 * and loses when another write came first, so two processes never both believe they won.
 *
 * Two stores:
 *  - `S3ConditionalStore`: objects in the archive's bucket, written with `If-None-Match: *` (create) and
 *    `If-Match: <etag>` (replace), which AWS S3 and MinIO honour (lib/s3/conditional.ts finds out whether a
 *    store does); every process of an install sees the same state;
 *  - `MemoryConditionalStore`: the same semantics in one process's memory, for a node without an S3
 *    credential and for a store that ignores conditional writes, i.e. for one n8n process only.
 */
import {
	DeleteObjectCommand,
	GetObjectCommand,
	ListObjectsV2Command,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { isNotFound, isPreconditionFailed } from '../s3/client';
import { isConditionalConflict } from '../s3/conditional';

export interface Versioned {
	body: string;
	/** Changes on every write (an S3 ETag); what a replace names. */
	version: string;
}

export interface ConditionalStore {
	/** Whether every n8n process sees this store (S3), or only this one (memory). */
	readonly sharedAcrossProcesses: boolean;
	read(key: string): Promise<Versioned | undefined>;
	/** Writes `body` if `key` does not exist; its version, or undefined when it exists (lost). */
	create(key: string, body: string): Promise<string | undefined>;
	/** Writes `body` if `key` is still at `version`; the new version, or undefined when it changed (lost). */
	replace(key: string, body: string, version: string): Promise<string | undefined>;
	remove(key: string): Promise<void>;
	/** Keys under a prefix, in key order (all pages). */
	list(prefix: string): Promise<string[]>;
}

export class MemoryConditionalStore implements ConditionalStore {
	readonly sharedAcrossProcesses = false;
	private readonly objects = new Map<string, Versioned>();
	private writes = 0;

	async read(key: string): Promise<Versioned | undefined> {
		const found = this.objects.get(key);
		return found ? { ...found } : undefined;
	}

	async create(key: string, body: string): Promise<string | undefined> {
		if (this.objects.has(key)) return undefined;
		return this.put(key, body);
	}

	async replace(key: string, body: string, version: string): Promise<string | undefined> {
		if (this.objects.get(key)?.version !== version) return undefined;
		return this.put(key, body);
	}

	async remove(key: string): Promise<void> {
		this.objects.delete(key);
	}

	async list(prefix: string): Promise<string[]> {
		return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
	}

	private put(key: string, body: string): string {
		const version = `m${++this.writes}`;
		this.objects.set(key, { body, version });
		return version;
	}
}

/** A conditional write that met another write of its key (S3's 409) is sent again this often. */
const CONFLICT_RETRIES = 4;

export class S3ConditionalStore implements ConditionalStore {
	readonly sharedAcrossProcesses = true;

	constructor(
		private readonly s3: S3Client,
		private readonly bucket: string,
		/** Prepended to every key, e.g. `checkout/shared/`. */
		private readonly keyPrefix: string,
		private readonly encryption: () => Record<string, unknown> = () => ({}),
	) {}

	async read(key: string): Promise<Versioned | undefined> {
		try {
			const res = await this.s3.send(
				new GetObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }),
			);
			const body = (await res.Body?.transformToString('utf8')) ?? '';
			return { body, version: res.ETag ?? '' };
		} catch (error) {
			if (isNotFound(error)) return undefined;
			throw error;
		}
	}

	async create(key: string, body: string): Promise<string | undefined> {
		return await this.write(key, body, { IfNoneMatch: '*' });
	}

	async replace(key: string, body: string, version: string): Promise<string | undefined> {
		return await this.write(key, body, { IfMatch: version });
	}

	async remove(key: string): Promise<void> {
		await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyPrefix + key }));
	}

	async list(prefix: string): Promise<string[]> {
		const keys: string[] = [];
		let token: string | undefined;
		do {
			const res = await this.s3.send(
				new ListObjectsV2Command({
					Bucket: this.bucket,
					Prefix: this.keyPrefix + prefix,
					ContinuationToken: token,
				}),
			);
			for (const o of res.Contents ?? []) if (o.Key) keys.push(o.Key.slice(this.keyPrefix.length));
			token = res.IsTruncated ? res.NextContinuationToken : undefined;
		} while (token);
		return keys;
	}

	private async write(
		key: string,
		body: string,
		condition: { IfNoneMatch: string } | { IfMatch: string },
	): Promise<string | undefined> {
		for (let attempt = 1; ; attempt++) {
			try {
				const res = await this.s3.send(
					new PutObjectCommand({
						Bucket: this.bucket,
						Key: this.keyPrefix + key,
						Body: body,
						ContentType: 'application/json',
						...condition,
						...this.encryption(),
					}),
				);
				return res.ETag ?? '';
			} catch (error) {
				// 412: the condition did not hold; 404: a replace of a key that is gone (S3 answers If-Match so).
				if (isPreconditionFailed(error) || isNotFound(error)) return undefined;
				// 409: another write of the key was under way. S3 asks for a retry, whose answer then says who won.
				if (isConditionalConflict(error)) {
					if (attempt >= CONFLICT_RETRIES) return undefined;
					await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20));
					continue;
				}
				throw error;
			}
		}
	}
}
