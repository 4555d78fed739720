/**
 * Objects the relay could not send, kept track of so that one bad object never stops the relay: each
 * failure of an object (its GET refused, its publish refused by the broker) is counted in a small record,
 * the object is skipped and the run goes on with the others; after `triesBeforeAside` failures the object
 * is moved aside (its record moves to `aside/`) and later runs skip it without trying, until someone
 * brings it back (Webhook Archive → Re-Drive, "Archive Objects Moved Aside"). The object itself stays
 * where it is, in pending/: a GET refused for it would refuse a copy too. Records carry the reason, for
 * List and the relay's output.
 *
 *   {prefix}/relay-failures/trying/{tail}   failures so far (below the limit)
 *   {prefix}/relay-failures/aside/{tail}    moved aside: skipped until brought back
 *
 * No n8n imports.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';

import { isNotFound } from '../s3/client';
import { redactPersonalData } from '../util/redact';
import type { S3Archive } from './archive';
import { normalisePrefix, parseKey } from './keys';

export interface RelayFailureRecord {
	/** The pending object's key. */
	key: string;
	tries: number;
	reason: string;
	firstFailedAt: string;
	lastFailedAt: string;
	/** When it was moved aside (absent while it is still tried). */
	asideAt?: string;
}

type Folder = 'trying' | 'aside';

export const DEFAULT_TRIES_BEFORE_ASIDE = 5;

export class RelayFailures {
	private readonly root: string;

	constructor(
		private readonly inbox: S3Archive,
		readonly triesBeforeAside = DEFAULT_TRIES_BEFORE_ASIDE,
	) {
		const p = normalisePrefix(inbox.prefix);
		this.root = `${p ? `${p}/` : ''}relay-failures/`;
	}

	private recordKey(folder: Folder, objectKey: string): string {
		const tail = parseKey(this.inbox.prefix, objectKey)?.tail ?? encodeURIComponent(objectKey);
		return `${this.root}${folder}/${tail}`;
	}

	/** The objects being tried and those moved aside, by object key (one listing). */
	async current(): Promise<{ trying: Set<string>; aside: Set<string> }> {
		const trying = new Set<string>();
		const aside = new Set<string>();
		let token: string | undefined;
		do {
			const res = await this.inbox.s3.send(
				new ListObjectsV2Command({
					Bucket: this.inbox.bucket,
					Prefix: this.root,
					ContinuationToken: token,
				}),
			);
			for (const o of res.Contents ?? []) {
				const rest = o.Key?.slice(this.root.length) ?? '';
				const slash = rest.indexOf('/');
				const folder = rest.slice(0, slash);
				const objectKey = this.objectKeyOf(rest.slice(slash + 1));
				if (folder === 'trying') trying.add(objectKey);
				else if (folder === 'aside') aside.add(objectKey);
			}
			token = res.IsTruncated ? res.NextContinuationToken : undefined;
		} while (token);
		return { trying, aside };
	}

	private objectKeyOf(tail: string): string {
		const p = normalisePrefix(this.inbox.prefix);
		return `${p ? `${p}/` : ''}pending/${tail}`;
	}

	private async read(folder: Folder, objectKey: string): Promise<RelayFailureRecord | undefined> {
		try {
			const res = await this.inbox.s3.send(
				new GetObjectCommand({ Bucket: this.inbox.bucket, Key: this.recordKey(folder, objectKey) }),
			);
			return JSON.parse((await res.Body?.transformToString('utf8')) ?? '') as RelayFailureRecord;
		} catch (error) {
			if (isNotFound(error)) return undefined;
			throw error;
		}
	}

	private async write(folder: Folder, record: RelayFailureRecord): Promise<void> {
		await this.inbox.s3.send(
			new PutObjectCommand({
				Bucket: this.inbox.bucket,
				Key: this.recordKey(folder, record.key),
				Body: JSON.stringify(record),
				ContentType: 'application/json',
				...this.inbox.encryption(),
			}),
		);
	}

	/** Counts a failure of an object; the record, moved aside once it reached the limit. */
	async recordFailure(objectKey: string, reason: string): Promise<RelayFailureRecord> {
		const now = new Date().toISOString();
		const before = await this.read('trying', objectKey);
		const record: RelayFailureRecord = {
			key: objectKey,
			tries: (before?.tries ?? 0) + 1,
			reason: redactPersonalData(reason).slice(0, 1000),
			firstFailedAt: before?.firstFailedAt ?? now,
			lastFailedAt: now,
		};
		if (record.tries < this.triesBeforeAside) {
			await this.write('trying', record);
			return record;
		}
		const aside = { ...record, asideAt: now };
		await this.write('aside', aside);
		await this.inbox.deleteKeys([this.recordKey('trying', objectKey)]);
		return aside;
	}

	/** Forgets the failures of objects that went through after all. */
	async cleared(objectKeys: string[]): Promise<void> {
		await this.inbox.deleteKeys(objectKeys.map((k) => this.recordKey('trying', k)));
	}

	/** The objects moved aside, with their reasons (for List). */
	async listAside(limit = Number.POSITIVE_INFINITY): Promise<RelayFailureRecord[]> {
		const { aside } = await this.current();
		const keys = [...aside].sort().slice(0, limit);
		const records = await Promise.all(keys.map(async (k) => await this.read('aside', k)));
		return records.filter((r): r is RelayFailureRecord => r !== undefined);
	}

	/**
	 * Brings objects moved aside back (all, or those with the given object keys or event ids): the next
	 * relay run tries them again, with their count of tries started afresh.
	 */
	async bringBack(which?: string[]): Promise<RelayFailureRecord[]> {
		const wanted = which?.length ? new Set(which) : undefined;
		const chosen = (await this.listAside()).filter(
			(r) =>
				!wanted ||
				wanted.has(r.key) ||
				wanted.has(parseKey(this.inbox.prefix, r.key)?.safeEventId ?? ''),
		);
		await this.inbox.deleteKeys(chosen.map((r) => this.recordKey('aside', r.key)));
		return chosen;
	}
}
