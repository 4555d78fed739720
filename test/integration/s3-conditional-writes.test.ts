/**
 * The test S3 server's conditional writes (testbench/s3rver-patch.js) against what AWS documents for
 * PutObject, with the AWS SDK: `If-None-Match: *` creates only, `If-Match: <etag>` replaces only that
 * version, 409 ConditionalRequestConflict or 412 on a lost race, and the ETag changes with the bytes.
 * The pack's claims and leases rely on exactly these answers, so the server that tests them must give them.
 */
import {
	CopyObjectCommand,
	GetObjectCommand,
	HeadObjectCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';

import { createS3Client } from '../../lib/s3/client';
import { failureKindOf, failureServiceOf } from '../../lib/util/failure';
import { freePort } from '../../testbench/ports';
import { startS3Server, type S3Server } from '../../testbench/s3';

jest.setTimeout(60_000);

let s3: S3Server;
let client: S3Client;
const Bucket = 'conditional';

beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(Bucket);
	client = createS3Client(s3.settings(Bucket));
});

afterAll(async () => {
	client?.destroy();
	await s3?.destroy();
});

/** The S3 error code and HTTP status of a failed call (or 'ok' with the ETag). */
async function outcome(
	send: Promise<{ ETag?: string }>,
): Promise<{ status: number; code: string; etag?: string }> {
	try {
		const res = await send;
		return { status: 200, code: 'ok', etag: res.ETag };
	} catch (error) {
		const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
		return { status: e.$metadata?.httpStatusCode ?? 0, code: e.Code ?? e.name ?? 'unknown' };
	}
}

const put = (
	Key: string,
	Body: string,
	conditions: { IfMatch?: string; IfNoneMatch?: string } = {},
) => outcome(client.send(new PutObjectCommand({ Bucket, Key, Body, ...conditions })));

async function read(Key: string): Promise<{ body: string; etag?: string }> {
	const res = await client.send(new GetObjectCommand({ Bucket, Key }));
	return { body: (await res.Body?.transformToString('utf8')) ?? '', etag: res.ETag };
}

test('If-None-Match: * creates a key once; a second create gets 412 PreconditionFailed and changes nothing', async () => {
	const first = await put('create/a', 'first', { IfNoneMatch: '*' });
	expect(first).toMatchObject({ status: 200, code: 'ok' });
	const second = await put('create/a', 'second', { IfNoneMatch: '*' });
	expect(second).toMatchObject({ status: 412, code: 'PreconditionFailed' });
	expect(await read('create/a')).toEqual({ body: 'first', etag: first.etag });
	// A plain PUT still overwrites, as on S3.
	expect(await put('create/a', 'third')).toMatchObject({ status: 200 });
	expect((await read('create/a')).body).toBe('third');
});

test('If-None-Match with anything but * is not implemented (501), as S3 answers', async () => {
	const res = await put('create/b', 'x', { IfNoneMatch: '"abc"' });
	expect(res).toMatchObject({ status: 501, code: 'NotImplemented' });
	await expect(client.send(new HeadObjectCommand({ Bucket, Key: 'create/b' }))).rejects.toThrow();
});

test('If-Match replaces only the version it names: 412 on another ETag, 404 NoSuchKey without an object', async () => {
	const v1 = await put('swap/a', 'v1');
	const v2 = await put('swap/a', 'v2', { IfMatch: v1.etag });
	expect(v2).toMatchObject({ status: 200, code: 'ok' });
	// The ETag changes with the bytes: the old one no longer matches.
	expect(v2.etag).not.toBe(v1.etag);
	const stale = await put('swap/a', 'v3 from a stale read', { IfMatch: v1.etag });
	expect(stale).toMatchObject({ status: 412, code: 'PreconditionFailed' });
	expect(await read('swap/a')).toEqual({ body: 'v2', etag: v2.etag });
	// Unquoted ETags are accepted too (S3 compares the tag's value).
	const v3 = await put('swap/a', 'v3', { IfMatch: v2.etag!.replace(/"/g, '') });
	expect(v3.status).toBe(200);
	expect(await put('swap/missing', 'x', { IfMatch: v1.etag })).toMatchObject({
		status: 404,
		code: 'NoSuchKey',
	});
});

test('every write whose bytes differ gets a new ETag, and a GET returns the bytes with their own ETag', async () => {
	const etags = new Set<string>();
	for (let i = 0; i < 20; i++) {
		const res = await put('etag/a', `body ${i}`);
		etags.add(res.etag!);
		expect((await read('etag/a')).etag).toBe(res.etag);
	}
	expect(etags.size).toBe(20);
});

test('concurrent creates of one key: exactly one wins, every other gets 412 or 409 ConditionalRequestConflict', async () => {
	for (let round = 0; round < 5; round++) {
		const Key = `race/${round}`;
		const results = await Promise.all(
			Array.from({ length: 12 }, (_, i) => put(Key, `writer ${i}`, { IfNoneMatch: '*' })),
		);
		const winners = results.filter((r) => r.status === 200);
		expect(winners).toHaveLength(1);
		for (const r of results.filter((x) => x.status !== 200))
			expect([
				{ status: 412, code: 'PreconditionFailed' },
				{ status: 409, code: 'ConditionalRequestConflict' },
			]).toContainEqual({ status: r.status, code: r.code });
		const stored = await read(Key);
		expect(stored.etag).toBe(winners[0].etag);
	}
});

test('concurrent compare-and-swap from one read: exactly one replaces it, the others lose with 412 or 409', async () => {
	let current = await put('cas/counter', JSON.stringify({ n: 0, by: 'init' }));
	for (let round = 1; round <= 5; round++) {
		const results = await Promise.all(
			Array.from({ length: 8 }, (_, i) =>
				put('cas/counter', JSON.stringify({ n: round, by: i }), { IfMatch: current.etag }),
			),
		);
		const winners = results.filter((r) => r.status === 200);
		expect(winners).toHaveLength(1);
		expect(
			results.filter((r) => r.status !== 200).every((r) => [409, 412].includes(r.status)),
		).toBe(true);
		current = winners[0];
		expect(JSON.parse((await read('cas/counter')).body).n).toBe(round);
	}
});

test('a lease taken by conditional writes under contention is never held twice', async () => {
	// Each contender: read the lease; take it when free (create) or expired (swap the version it read).
	// The lease records who holds it; a holder counts itself in and out; nobody may see another inside.
	const Key = 'lease/one';
	let inside = 0;
	let maxInside = 0;
	let turns = 0;
	const contender = async (name: string) => {
		for (let i = 0; i < 15; i++) {
			let etag: string | undefined;
			let free = true;
			try {
				const current = await read(Key);
				etag = current.etag;
				free = JSON.parse(current.body).holder === null;
			} catch {
				etag = undefined;
			}
			if (!free) continue;
			const taken = await put(
				Key,
				JSON.stringify({ holder: name, turn: i }),
				etag ? { IfMatch: etag } : { IfNoneMatch: '*' },
			);
			if (taken.status !== 200) continue;
			inside++;
			maxInside = Math.max(maxInside, inside);
			turns++;
			await new Promise((r) => setTimeout(r, 5));
			inside--;
			// Released by a swap of our own version: nobody can have replaced it while we held it. A 409
			// (a contender's stale swap in flight on the same key at that moment) is AWS's "try again", never
			// a loss: the release goes through once it is alone, and 412 would mean someone replaced it.
			let released = await put(Key, JSON.stringify({ holder: null, by: name, i }), {
				IfMatch: taken.etag,
			});
			for (let retry = 0; released.status === 409 && retry < 20; retry++)
				released = await put(Key, JSON.stringify({ holder: null, by: name, i }), {
					IfMatch: taken.etag,
				});
			expect(released.status).toBe(200);
		}
	};
	await Promise.all(['a', 'b', 'c', 'd', 'e'].map(contender));
	expect(maxInside).toBe(1);
	expect(turns).toBeGreaterThan(0);
});

test('CopyObject honours If-None-Match on its destination', async () => {
	await put('copy/source', 'payload');
	await put('copy/taken', 'already here');
	const copy = (Key: string) =>
		outcome(
			client
				.send(
					new CopyObjectCommand({
						Bucket,
						Key,
						CopySource: `${Bucket}/copy/source`,
						IfNoneMatch: '*',
					} as ConstructorParameters<typeof CopyObjectCommand>[0]),
				)
				.then((r) => ({ ETag: r.CopyObjectResult?.ETag })),
		);
	expect(await copy('copy/free')).toMatchObject({ status: 200 });
	expect((await read('copy/free')).body).toBe('payload');
	expect(await copy('copy/taken')).toMatchObject({ status: 412, code: 'PreconditionFailed' });
	expect((await read('copy/taken')).body).toBe('already here');
});

test('a store that does not answer is a lasting failure of service s3 (the queue pauses); a missing key or a lost race keeps its own meaning', async () => {
	const kindOf = async (send: Promise<unknown>) => {
		try {
			await send;
			return 'ok';
		} catch (error) {
			return `${failureKindOf(error) ?? 'none'} ${failureServiceOf(error) ?? ''}`.trim();
		}
	};
	const down = createS3Client({
		...s3.settings(Bucket),
		endpoint: `http://127.0.0.1:${await freePort()}`,
	});
	try {
		expect(await kindOf(down.send(new GetObjectCommand({ Bucket, Key: 'any' })))).toBe(
			'lasting s3',
		);
	} finally {
		down.destroy();
	}
	expect(await kindOf(client.send(new GetObjectCommand({ Bucket, Key: 'missing/key' })))).toBe(
		'none',
	);
	await put('outage/taken', 'x');
	expect(
		await kindOf(
			client.send(
				new PutObjectCommand({ Bucket, Key: 'outage/taken', Body: 'y', IfNoneMatch: '*' }),
			),
		),
	).toBe('none');
});
