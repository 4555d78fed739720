/**
 * Whether an S3 store honours conditional writes (`If-None-Match: *`, `If-Match: <etag>` on PutObject),
 * which AWS S3 (since 2024) and MinIO do and some S3-compatible servers ignore. State that several n8n
 * processes share (claims, leases, the lead → deal map: lib/shared) is safe across processes only where
 * they are honoured; on a store that ignores them, run one n8n process (see docs/scaling.md).
 *
 * Found out by trying, once per process and store: a create of a fresh probe key, a second create of the
 * same key (must be refused: 412, or 409 for a conflicting write), and a swap naming a wrong ETag (must be
 * refused: 412). The probe object is removed afterwards.
 */
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { isPreconditionFailed } from './client';

/** True for S3's 409 ConditionalRequestConflict: another write of the key was under way; retry. */
export function isConditionalConflict(error: unknown): boolean {
	const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
	return e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 409;
}

/** A conditional write that lost: the condition did not hold (412), or a concurrent write won (409). */
export function isLostConditionalWrite(error: unknown): boolean {
	return isPreconditionFailed(error) || isConditionalConflict(error);
}

async function refused(write: Promise<unknown>): Promise<boolean> {
	try {
		await write;
		return false;
	} catch (error) {
		if (isLostConditionalWrite(error)) return true;
		throw error;
	}
}

/**
 * Tries conditional writes on `bucket` under `keyPrefix` (e.g. `checkout/locks/`). Throws what S3
 * answered when it refuses the probe's writes for another reason (credentials, a missing bucket).
 */
export async function probeConditionalWrites(
	client: S3Client,
	bucket: string,
	keyPrefix: string,
): Promise<boolean> {
	const Key = `${keyPrefix}conditional-write-probe-${randomUUID()}`;
	const put = (conditions: { IfNoneMatch?: string; IfMatch?: string }) =>
		client.send(
			new PutObjectCommand({
				Bucket: bucket,
				Key,
				Body: JSON.stringify({ probe: true, at: new Date().toISOString(), nonce: randomUUID() }),
				ContentType: 'application/json',
				...conditions,
			}),
		);
	try {
		await put({ IfNoneMatch: '*' });
		const createRefused = await refused(put({ IfNoneMatch: '*' }));
		const swapRefused = await refused(put({ IfMatch: '"00000000000000000000000000000000"' }));
		return createRefused && swapRefused;
	} finally {
		await client.send(new DeleteObjectCommand({ Bucket: bucket, Key })).catch(() => undefined);
	}
}

const probes = new Map<string, Promise<boolean>>();

/**
 * `probeConditionalWrites`, once per process for a store (`storeId`: endpoint and bucket); a probe that
 * failed is tried again next time.
 */
export async function conditionalWritesHonoured(
	storeId: string,
	probe: () => Promise<boolean>,
): Promise<boolean> {
	let known = probes.get(storeId);
	if (!known) {
		known = probe();
		probes.set(storeId, known);
		known.catch(() => probes.delete(storeId));
	}
	return await known;
}
