/**
 * The intake's own PutObject (lib/s3/objectWriter.ts) against the real S3 server of the bench, read back
 * with the AWS SDK: what it writes, and that its errors read as the SDK's do (412 on a taken key, an
 * outage marked lasting for service s3, an answer lost on the way retried). s3rver does not check
 * signatures: the signature is checked against the SDK's own signer (test/unit/s3-signature.test.ts) and
 * by MinIO in the compose stack (test/e2e/compose-stack.test.ts).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { createS3Client, isPreconditionFailed, type S3Settings } from '../../lib/s3/client';
import { S3ObjectWriter } from '../../lib/s3/objectWriter';
import { failureKindOf, failureServiceOf } from '../../lib/util/failure';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { startS3FaultProxy } from '../../testbench/s3FaultProxy';

jest.setTimeout(60_000);

let s3: S3Server;
let client: S3Client;
let settings: S3Settings;
const Bucket = 'writer';
const writers: S3ObjectWriter[] = [];
const writerOf = (s: S3Settings) => {
	const w = new S3ObjectWriter(s);
	writers.push(w);
	return w;
};

beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(Bucket);
	settings = s3.settings(Bucket);
	client = createS3Client(settings);
});

afterAll(async () => {
	client?.destroy();
	for (const w of writers) w.destroy();
	await s3?.destroy();
});

async function read(Key: string) {
	const res = await client.send(new GetObjectCommand({ Bucket, Key }));
	return {
		body: Buffer.from(await res.Body!.transformToByteArray()),
		contentType: res.ContentType,
		metadata: res.Metadata,
		etag: res.ETag,
	};
}

test('writes bytes, content type and metadata that the SDK reads back, under keys that need encoding', async () => {
	const writer = writerOf(settings);
	const keys = [
		'checkout/pending/2026/12/02/10/1796000000000-evt_1-abc.json',
		"odd/a b+c!'()*~é/ç.json",
		'odd/percent%2Fslash.json',
	];
	for (const [i, key] of keys.entries()) {
		const body = Buffer.from(JSON.stringify({ i, text: 'ç € \u0000' }));
		const { etag } = await writer.put({
			key,
			body,
			contentType: 'application/json',
			metadata: { 'event-id': encodeURIComponent('evt ç'), sha256: 'ab' },
		});
		const got = await read(key);
		expect(got.body.equals(body)).toBe(true);
		expect(got.contentType).toBe('application/json');
		expect(got.metadata).toEqual({ 'event-id': encodeURIComponent('evt ç'), sha256: 'ab' });
		expect(got.etag).toBe(etag);
	}
});

test('If-None-Match on a taken key is a 412 that reads as the SDK reads it, and the object is unchanged', async () => {
	const writer = writerOf(settings);
	const key = 'taken.json';
	await writer.put({ key, body: Buffer.from('{"first":1}'), contentType: 'application/json' });
	const error = await writer
		.put({
			key,
			body: Buffer.from('{"second":2}'),
			contentType: 'application/json',
			headers: { 'if-none-match': '*' },
		})
		.catch((e: unknown) => e);
	expect(isPreconditionFailed(error)).toBe(true);
	expect((error as Error).name).toBe('PreconditionFailed');
	expect((await read(key)).body.toString()).toBe('{"first":1}');
});

test('a store that does not answer is a lasting failure of service s3 (the queue pauses), after the retries', async () => {
	const writer = writerOf({ ...settings, endpoint: 'http://127.0.0.1:9' });
	const error = await writer
		.put({ key: 'down.json', body: Buffer.from('{}'), contentType: 'application/json' })
		.catch((e: unknown) => e);
	expect(failureKindOf(error)).toBe('lasting');
	expect(failureServiceOf(error)).toBe('s3');
});

test('an answer lost on the way is retried: the write is done once and the caller is told it was', async () => {
	const proxy = await startS3FaultProxy(settings);
	try {
		const writer = writerOf({ ...settings, endpoint: proxy.endpoint });
		proxy.loseAnswers((r) => r.method === 'PUT' && r.path.endsWith('/lost.json'), 1);
		await writer.put({
			key: 'lost.json',
			body: Buffer.from('{"n":1}'),
			contentType: 'application/json',
		});
		expect(proxy.lostAnswers).toBe(1);
		expect(proxy.seen.filter((r) => r.path.endsWith('/lost.json'))).toHaveLength(2);
		expect((await read('lost.json')).body.toString()).toBe('{"n":1}');
	} finally {
		await proxy.close();
	}
});
