/**
 * The intake's own PutObject signs as AWS does: its Signature Version 4 (lib/s3/objectWriter.ts) against
 * the signer of the AWS SDK itself (@smithy/signature-v4, what @aws-sdk/client-s3 signs with), on the
 * requests the archive makes: metadata, conditions, encryption, keys that need encoding, two regions.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

import {
	encodeKeySegment,
	objectTarget,
	s3SigningKey,
	signS3Request,
} from '../../lib/s3/objectWriter';

const credentials = {
	accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
	secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
	typeof data === 'string'
		? data
		: data instanceof ArrayBuffer
			? new Uint8Array(data)
			: new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

/** The SDK's hash interface over Node's crypto (the SDK's own @smithy/hash-node does the same). */
class NodeSha256 {
	private readonly hash: Hash | Hmac;
	constructor(secret?: SourceData) {
		this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
	}
	update(data: SourceData): void {
		this.hash.update(bytes(data));
	}
	async digest(): Promise<Uint8Array> {
		return new Uint8Array(this.hash.digest());
	}
	reset(): void {}
}

async function sdkAuthorization(
	region: string,
	host: string,
	path: string,
	headers: Record<string, string>,
	body: Buffer,
	now: Date,
): Promise<string> {
	const signer = new SignatureV4({
		service: 's3',
		region,
		credentials,
		sha256: NodeSha256,
		// S3 signs the path as sent: each segment encoded once, not twice as other services do.
		uriEscapePath: false,
	});
	const signed = await signer.sign(
		{
			method: 'PUT',
			protocol: 'https:',
			hostname: host,
			path,
			query: {},
			headers: {
				...headers,
				'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
			},
			body,
		},
		{ signingDate: now },
	);
	return signed.headers.authorization;
}

const cases: Array<[string, string, string, Record<string, string>]> = [
	[
		'us-east-1',
		'inbox.s3.us-east-1.amazonaws.com',
		'checkout/pending/2026/12/02/10/1796000000000-evt_1-abc.json',
		{ 'x-amz-meta-event-id': 'evt_1', 'x-amz-meta-sha256': 'ab', 'if-none-match': '*' },
	],
	[
		'sa-east-1',
		's3.sa-east-1.amazonaws.com',
		"checkout-bucket/odd/a b+c!'()*~é/ç.json",
		{
			'x-amz-server-side-encryption': 'aws:kms',
			'x-amz-server-side-encryption-aws-kms-key-id': 'alias/checkout',
			'if-match': '"0123456789abcdef0123456789abcdef"',
		},
	],
];

test.each(cases)(
	'a PUT in %s to %s is signed byte for byte as the AWS SDK signs it',
	async (region, host, key, extra) => {
		const body = Buffer.from(JSON.stringify({ id: 'evt_1', note: 'ç' }));
		const now = new Date('2026-12-02T10:11:12.345Z');
		const path = `/${key.split('/').map(encodeKeySegment).join('/')}`;
		const headers = {
			host,
			'content-length': String(body.length),
			'content-type': 'application/json',
			...extra,
		};
		const ours = signS3Request({
			method: 'PUT',
			path,
			headers,
			payloadSha256Hex: createHash('sha256').update(body).digest('hex'),
			region,
			accessKeyId: credentials.accessKeyId,
			signingKey: (day) => s3SigningKey(credentials.secretAccessKey, day, region),
			now,
		});
		expect(ours['x-amz-date']).toBe('20261202T101112Z');
		expect(ours.authorization).toBe(await sdkAuthorization(region, host, path, headers, body, now));
	},
);

test("a key's segments are encoded as RFC 3986 asks, the slashes between them kept", () => {
	expect(encodeKeySegment("a b+c!'()*~é")).toBe('a%20b%2Bc%21%27%28%29%2A~%C3%A9');
});

test("a PUT goes to the bucket's own host on AWS (virtual-hosted) and into the path on MinIO-style stores", () => {
	expect(
		objectTarget(new URL('https://s3.sa-east-1.amazonaws.com'), false, 'inbox', 'a b/c.json'),
	).toEqual({
		hostname: 'inbox.s3.sa-east-1.amazonaws.com',
		host: 'inbox.s3.sa-east-1.amazonaws.com',
		path: '/a%20b/c.json',
	});
	expect(objectTarget(new URL('http://minio:9000'), true, 'inbox', 'a b/c.json')).toEqual({
		hostname: 'minio',
		host: 'minio:9000',
		path: '/inbox/a%20b/c.json',
	});
});
