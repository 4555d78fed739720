/**
 * PutObject without the AWS SDK, for the intake's hot path: the two or three writes that stand between a
 * gateway's webhook (or a buyer's form) and its answer. A CPU profile of n8n under the fast intake showed
 * the SDK's per-call machinery (middleware stack resolved per command, schema-driven serialisation, a
 * signing-key cache keyed by an HMAC it computes on every call, response parsing) as the largest item our
 * code adds to n8n's own cost (BENCHMARKS.md, "Where n8n's CPU goes"). This writer signs with AWS Signature
 * Version 4 (signing key cached per day), reuses kept-alive sockets, and answers errors the way the SDK's do
 * (`name` = S3's error code, `$metadata.httpStatusCode`), so lib/s3/client's `isPreconditionFailed`,
 * `isNotFound`, `isStoreOutage` and lib/s3/conditional read them unchanged.
 *
 * Retries as the SDK's standard mode does for a write: a request with no answer (reset, refused, timed
 * out) or a 500/502/503/504 is sent again, three attempts in all. A retried conditional write whose first
 * try was done by S3 then meets its own object (412); the archive tells that apart (lib/archive/archive.ts).
 * Everything but these PUTs (GET, HEAD, LIST, COPY, DELETE) stays on the SDK. No n8n imports.
 */
import { createHash, createHmac } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';

import { markFailure } from '../util/failure';
import { isStoreOutage, type S3Settings } from './client';

export interface ObjectPut {
	key: string;
	body: Buffer;
	contentType: string;
	/** User metadata, without the `x-amz-meta-` prefix; values must be ASCII (the archive encodes them). */
	metadata?: Record<string, string>;
	/** Further request headers: conditions (`if-none-match`, `if-match`), server-side encryption. */
	headers?: Record<string, string>;
	/** The body's SHA-256 in hex when the caller has it already (it is the payload hash SigV4 signs). */
	sha256Hex?: string;
}

/** An S3 error answer, shaped as the SDK shapes them. */
export class S3WriteError extends Error {
	readonly $metadata: { httpStatusCode?: number };
	constructor(name: string, message: string, status?: number) {
		super(message);
		this.name = name;
		this.$metadata = { httpStatusCode: status };
	}
}

const ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 30_000;
const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);

/** RFC 3986 encoding of one path segment, as SigV4 wants it for S3 (each segment once, `/` kept). */
export function encodeKeySegment(segment: string): string {
	return encodeURIComponent(segment).replace(
		/[!'()*]/g,
		(c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
	);
}

export class S3ObjectWriter {
	private readonly base: URL;
	private readonly pathStyle: boolean;
	private readonly agent: http.Agent;
	private signingKey?: { day: string; key: Buffer };

	constructor(private readonly settings: S3Settings) {
		const region = settings.region || 'us-east-1';
		this.base = new URL(settings.endpoint || `https://s3.${region}.amazonaws.com`);
		// Virtual-hosted addressing unless the store needs paths (MinIO and most self-hosted stores), as the
		// SDK does; a bucket name with dots cannot be a TLS host name, so it goes in the path too.
		this.pathStyle = settings.forcePathStyle || settings.bucket.includes('.');
		const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
		this.agent = new Agent({ keepAlive: true, maxSockets: 50 });
	}

	/** Writes one object; resolves with its ETag. */
	async put(put: ObjectPut): Promise<{ etag: string }> {
		for (let attempt = 1; ; attempt++) {
			try {
				return await this.send(put);
			} catch (error) {
				const status = (error as S3WriteError).$metadata?.httpStatusCode;
				const retryable =
					status === undefined ? isStoreOutage(error) : RETRYABLE_STATUS.has(status);
				if (!retryable || attempt >= ATTEMPTS) {
					// As the SDK client's middleware does: an S3 that does not answer is down for every message.
					if (isStoreOutage(error)) markFailure(error as Error, 'lasting', 's3');
					throw error;
				}
				await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt * Math.random()));
			}
		}
	}

	/** Closes the kept-alive sockets. */
	destroy(): void {
		this.agent.destroy();
	}

	private target(key: string): ObjectTarget {
		return objectTarget(this.base, this.pathStyle, this.settings.bucket, key);
	}

	private send(put: ObjectPut): Promise<{ etag: string }> {
		const { hostname, host, path } = this.target(put.key);
		const headers = this.signedHeaders(host, path, put);
		return new Promise((resolve, reject) => {
			const request = (this.base.protocol === 'https:' ? https : http).request(
				{
					protocol: this.base.protocol,
					hostname,
					port: this.base.port || undefined,
					method: 'PUT',
					path,
					headers,
					agent: this.agent,
					timeout: REQUEST_TIMEOUT_MS,
				},
				(response) => {
					const chunks: Buffer[] = [];
					response.on('data', (chunk: Buffer) => chunks.push(chunk));
					response.on('error', reject);
					response.on('end', () => {
						const status = response.statusCode ?? 0;
						if (status >= 200 && status < 300) {
							resolve({ etag: String(response.headers.etag ?? '') });
							return;
						}
						const text = Buffer.concat(chunks).toString('utf8');
						const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP${status}`;
						const message =
							/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? `S3 answered ${status}`;
						reject(new S3WriteError(code, message, status));
					});
				},
			);
			request.on('timeout', () =>
				request.destroy(
					Object.assign(new Error('TimeoutError: S3 did not answer'), { code: 'ETIMEDOUT' }),
				),
			);
			request.on('error', reject);
			request.end(put.body);
		});
	}

	/** The request's headers, signed with AWS Signature Version 4 (all of them, so none can be altered). */
	private signedHeaders(host: string, path: string, put: ObjectPut): Record<string, string> {
		const headers: Record<string, string> = {
			host,
			'content-length': String(put.body.length),
			'content-type': put.contentType,
		};
		for (const [name, value] of Object.entries(put.metadata ?? {}))
			headers[`x-amz-meta-${name.toLowerCase()}`] = value;
		for (const [name, value] of Object.entries(put.headers ?? {}))
			headers[name.toLowerCase()] = value;
		const region = this.settings.region || 'us-east-1';
		return signS3Request({
			method: 'PUT',
			path,
			headers,
			payloadSha256Hex: put.sha256Hex ?? createHash('sha256').update(put.body).digest('hex'),
			region,
			accessKeyId: this.settings.accessKeyId,
			signingKey: (day) => this.keyFor(day, region),
			now: new Date(),
		});
	}

	private keyFor(day: string, region: string): Buffer {
		if (this.signingKey?.day === day) return this.signingKey.key;
		const key = s3SigningKey(this.settings.secretAccessKey, day, region);
		this.signingKey = { day, key };
		return key;
	}
}

export interface ObjectTarget {
	/** Where to connect (the bucket's own host name in virtual-hosted addressing). */
	hostname: string;
	/** The Host header: the host name with the endpoint's port, if any. */
	host: string;
	/** The request path, each key segment encoded once. */
	path: string;
}

/**
 * Where an object's PUT goes: `endpoint/bucket/key` in path-style addressing, else
 * `bucket.endpoint/key` (virtual-hosted, AWS's default), connecting to that very host name.
 */
export function objectTarget(
	base: URL,
	pathStyle: boolean,
	bucket: string,
	key: string,
): ObjectTarget {
	const encodedKey = key.split('/').map(encodeKeySegment).join('/');
	const basePath = base.pathname.replace(/\/$/, '');
	if (pathStyle)
		return {
			hostname: base.hostname,
			host: base.host,
			path: `${basePath}/${encodeKeySegment(bucket)}/${encodedKey}`,
		};
	return {
		hostname: `${bucket}.${base.hostname}`,
		host: `${bucket}.${base.host}`,
		path: `${basePath}/${encodedKey}`,
	};
}

/** SigV4's signing key for S3 on one day (`YYYYMMDD`) in one region. */
export function s3SigningKey(secretAccessKey: string, day: string, region: string): Buffer {
	const hmac = (key: string | Buffer, data: string) =>
		createHmac('sha256', key).update(data).digest();
	return hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), 's3'), 'aws4_request');
}

/**
 * Signs an S3 request with AWS Signature Version 4, every header given (lower-case names, `host`
 * among them) being signed: returns them with `x-amz-date`, `x-amz-content-sha256` and `authorization`.
 * `path` is the request path as sent (each key segment encoded once, lib/s3's `encodeKeySegment`); no query.
 */
export function signS3Request(request: {
	method: string;
	path: string;
	headers: Record<string, string>;
	payloadSha256Hex: string;
	region: string;
	accessKeyId: string;
	signingKey: (day: string) => Buffer;
	now: Date;
}): Record<string, string> {
	const amzDate = request.now
		.toISOString()
		.replace(/[-:]/g, '')
		.replace(/\.\d{3}/, '');
	const day = amzDate.slice(0, 8);
	const headers: Record<string, string> = {
		...request.headers,
		'x-amz-content-sha256': request.payloadSha256Hex,
		'x-amz-date': amzDate,
	};
	const names = Object.keys(headers).sort();
	const canonicalHeaders = names
		.map((n) => `${n}:${headers[n].trim().replace(/\s+/g, ' ')}\n`)
		.join('');
	const signedNames = names.join(';');
	const canonicalRequest = `${request.method}\n${request.path}\n\n${canonicalHeaders}\n${signedNames}\n${request.payloadSha256Hex}`;
	const scope = `${day}/${request.region}/s3/aws4_request`;
	const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
	const signature = createHmac('sha256', request.signingKey(day))
		.update(stringToSign)
		.digest('hex');
	return {
		...headers,
		authorization: `AWS4-HMAC-SHA256 Credential=${request.accessKeyId}/${scope}, SignedHeaders=${signedNames}, Signature=${signature}`,
	};
}
