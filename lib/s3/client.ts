/**
 * One S3 client factory for every node and tool of the pack (AWS S3, MinIO, other S3-compatible stores).
 */
import { S3Client } from '@aws-sdk/client-s3';

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
	return new S3Client({
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
