/**
 * One S3 client factory for every node and tool of the pack (AWS S3, MinIO, other S3-compatible stores).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { markFailure } from '../util/failure';

export type ServerSideEncryption = 'none' | 'AES256' | 'aws:kms';

export interface S3Settings {
	/** Empty for AWS; the server's URL for MinIO and other S3-compatible stores. */
	endpoint?: string;
	region: string;
	accessKeyId: string;
	secretAccessKey: string;
	/** Path-style addressing (`host/bucket/key`), which MinIO and most self-hosted stores need. */
	forcePathStyle: boolean;
	bucket: string;
	serverSideEncryption?: ServerSideEncryption;
	kmsKeyId?: string;
}

export function createS3Client(settings: S3Settings): S3Client {
	const client = new S3Client({
		endpoint: settings.endpoint ? settings.endpoint : undefined,
		region: settings.region || 'us-east-1',
		forcePathStyle: settings.forcePathStyle,
		credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
		// The SDK's newer default (WHEN_SUPPORTED) sends streamed bodies aws-chunked with a trailing checksum,
		// which several S3-compatible servers store framed, i.e. corrupted, without an error. Checksums are
		// still sent where S3 requires them (DeleteObjects).
		requestChecksumCalculation: 'WHEN_REQUIRED',
		responseChecksumValidation: 'WHEN_REQUIRED',
		maxAttempts: 3,
	});
	// An S3 store that does not answer, or answers 5xx, after the SDK's own retries is down for every
	// message, not for this one: a lasting failure of service "s3", so the queue consumer pauses and tries
	// again later instead of spending each message's attempts and dead-lettering it (lib/util/failure.ts).
	// 4xx answers (a missing key, a lost conditional write, a denied object) keep their own meaning.
	client.middlewareStack.add(
		(next) => async (args) => {
			try {
				return await next(args);
			} catch (error) {
				// Not `instanceof Error`: Node's own socket errors may come from another realm (a VM context).
				if (error && typeof error === 'object' && isStoreOutage(error))
					markFailure(error as Error, 'lasting', 's3');
				throw error;
			}
		},
		{ step: 'initialize', name: 'checkoutStoreOutageKind' },
	);
	return client;
}

/** No answer at all (refused, reset, timed out), or a 5xx that outlived the SDK's retries. */
export function isStoreOutage(error: unknown): boolean {
	const e = error as {
		$metadata?: { httpStatusCode?: number };
		code?: string;
		name?: string;
		message?: string;
	};
	const status = e?.$metadata?.httpStatusCode;
	if (status !== undefined) return status >= 500;
	// The SDK wraps a socket error ("AWS SDK error wrapper for Error: connect ECONNREFUSED …"): its code is
	// in the text.
	return /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)\b|socket hang up|TimeoutError|RequestTimeout/.test(
		`${e?.code ?? ''} ${e?.name ?? ''} ${e?.message ?? ''}`,
	);
}

/** True for a 404 answer (NoSuchKey, NotFound) from any S3 operation. */
export function isNotFound(error: unknown): boolean {
	const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
	return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** True when the store refused a conditional write because the object exists (412). */
export function isPreconditionFailed(error: unknown): boolean {
	const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
	return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}
