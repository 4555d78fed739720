/**
 * The archive and the relay against the real S3 server (s3rver) and the real RabbitMQ broker.
 */
import { createHash } from 'node:crypto';
import {
	DeleteObjectCommand,
	GetObjectCommand,
	PutObjectCommand,
	type S3Client,
} from '@aws-sdk/client-s3';
import type { ChannelModel } from 'amqplib';
import { LeadRegistry } from '../../lib/archive/leadRegistry';
import { storeVerifiedEvent } from '../../lib/archive/verifiedEvent';

import { ConfirmPublisher } from '../../lib/amqp/confirmPublisher';
import { partitionOf, partitionQueues } from '../../lib/amqp/partitions';
import { redriveDeadLetters } from '../../lib/amqp/redrive';
import { connectAmqp } from '../../lib/amqp/connection';
import { declareTopology, type Topology } from '../../lib/amqp/topology';
import { ArchiveWriteError, type MarkerWrites, S3Archive } from '../../lib/archive/archive';
import { RelayFailures } from '../../lib/archive/aside';
import { idMarkerKey, objectKey, parseKey } from '../../lib/archive/keys';
import { Lease } from '../../lib/archive/lease';
import {
	DEFAULT_LIMITS,
	RelayError,
	relayPending,
	replayRange,
	type Publisher,
} from '../../lib/archive/relay';
import { partitionKeyOf } from '../../lib/checkout/message';
import { createS3Client, type S3Settings } from '../../lib/s3/client';
import { S3ObjectWriter } from '../../lib/s3/objectWriter';
import {
	connectBroker,
	deleteTopology,
	drainQueue,
	publishConfirmed,
	uniqueTopology,
	brokerUrlVia,
	RABBITMQ_PORT,
	RABBITMQ_URL,
} from '../../testbench/rabbitmq';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { startS3FaultProxy, type S3FaultProxy } from '../../testbench/s3FaultProxy';
import { startTcpProxy } from '../../testbench/tcpProxy';

jest.setTimeout(180_000);

let s3: S3Server;
let broker: ChannelModel;
const topologies: Topology[] = [];
const clients: S3Client[] = [];
let bucketNo = 0;

beforeAll(async () => {
	s3 = await startS3Server();
	broker = await connectBroker();
});
const partitioned: Topology[] = [];

afterAll(async () => {
	for (const t of topologies) await deleteTopology(broker, t);
	for (const t of partitioned) await deleteTopology(broker, t, [3, 4]);
	await broker?.close();
	for (const c of clients) c.destroy();
	for (const w of writers) w.destroy();
	await s3?.destroy();
});

/** How the archive writes the intake's objects: the nodes' own writer (lib/s3/objectWriter) or the SDK. */
type Writes = 'writer' | 'sdk';
const writers: S3ObjectWriter[] = [];
function writerFor(settings: S3Settings, writes: Writes): S3ObjectWriter | undefined {
	if (writes === 'sdk') return undefined;
	const writer = new S3ObjectWriter(settings);
	writers.push(writer);
	return writer;
}

async function freshArchive(
	prefix = 'checkout',
	markerWrites?: MarkerWrites,
	writes: Writes = 'writer',
): Promise<S3Archive> {
	const bucket = `it-${++bucketNo}`;
	await s3.createBucket(bucket);
	const client = createS3Client(s3.settings(bucket));
	clients.push(client);
	return new S3Archive(client, {
		bucket,
		prefix,
		markerWrites,
		writer: writerFor(s3.settings(bucket), writes),
	});
}

async function freshTopology(label: string): Promise<Topology> {
	const t = uniqueTopology(label);
	topologies.push(t);
	await declareTopology(broker, t);
	return t;
}

async function storeMany(archive: S3Archive, n: number, concurrency = 16): Promise<string[]> {
	const bodies: string[] = [];
	for (let i = 0; i < n; i++)
		bodies.push(JSON.stringify({ id: `evt_${String(i).padStart(6, '0')}`, n: i, note: 'ç' }));
	const base = Date.UTC(2026, 10, 27, 10, 59, 0, 0);
	let next = 0;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (next < n) {
				const i = next++;
				// Receive times 37 ms apart cross an hour boundary: order must hold across time folders.
				await archive.store({
					body: Buffer.from(bodies[i]),
					eventId: `evt_${String(i).padStart(6, '0')}`,
					source: 'test',
					receivedAtMs: base + i * 37,
				});
			}
		}),
	);
	return bodies;
}

async function count(archive: S3Archive, state: 'pending' | 'relayed'): Promise<string[]> {
	const keys: string[] = [];
	for await (const page of archive.walk(state)) keys.push(...page.map((o) => o.key));
	return keys;
}

// Every store test runs in both ways of writing id markers (S3Archive.store): the one-round-trip
// conditional create where the store honours If-None-Match, and read-then-write where it does not.
describe.each([
	['conditional', 'writer'],
	['check-first', 'writer'],
	['conditional', 'sdk'],
] as const)('store (%s id markers, written by the %s)', (markerWrites, writes) => {
	const freshStoreArchive = async () => await freshArchive('checkout', markerWrites, writes);

	it('keeps one pending object for an event stored three times, and the relay sends one message', async () => {
		const archive = await freshStoreArchive();
		const t = await freshTopology('dup');
		const body = Buffer.from('{"id":"evt_dup","type":"payment.succeeded"}');
		const results = [];
		for (let i = 0; i < 3; i++)
			results.push(await archive.store({ body, eventId: 'evt_dup', source: 'stripe' }));
		expect(results.map((r) => r.duplicate)).toEqual([false, true, true]);
		expect(new Set(results.map((r) => r.key)).size).toBe(1);
		expect(await count(archive, 'pending')).toEqual([results[0].key]);

		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const report = await relayPending(archive, publisher, t, DEFAULT_LIMITS);
		await connection.close();
		expect(report.published).toBe(1);
		const messages = await drainQueue(broker, t.queue, 10, 1000);
		expect(messages).toHaveLength(1);
		expect(messages[0].messageId).toBe('evt_dup');
		expect(messages[0].content.equals(body)).toBe(true);
	});

	it('publishes the copy that stays when the other copy of the same event vanishes between the listing and its GET', async () => {
		const archive = await freshStoreArchive();
		const t = await freshTopology('vanish');
		const body = Buffer.from('{"id":"evt_vanish","type":"payment.succeeded"}');
		const first = await archive.store({ body, eventId: 'evt_vanish', source: 'stripe' });
		// A second copy of the event (what two racing intakes leave before the loser deletes its own),
		// listed after the first.
		const parsed = parseKey('checkout', first.key)!;
		const second = objectKey(
			'checkout',
			'pending',
			parsed.receivedAtMs + 1,
			'evt_vanish',
			'zzzzzzzz',
		);
		const { bucket, s3: client } = archive;
		const original = await client.send(new GetObjectCommand({ Bucket: bucket, Key: first.key }));
		await client.send(
			new PutObjectCommand({
				Bucket: bucket,
				Key: second,
				Body: Buffer.from(await original.Body!.transformToByteArray()),
				Metadata: original.Metadata,
				ContentType: original.ContentType,
			}),
		);
		// The race loser deletes its copy (the first) after the relay listed both.
		const racing = Object.create(archive) as S3Archive;
		racing.listPage = async (...args: Parameters<S3Archive['listPage']>) => {
			const page = await archive.listPage(...args);
			if (page.objects.some((o) => o.key === first.key))
				await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: first.key }));
			return page;
		};
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const report = await relayPending(racing, publisher, t, DEFAULT_LIMITS);
		await connection.close();
		expect(report.published).toBe(1);
		const messages = await drainQueue(broker, t.queue, 10, 1000);
		expect(messages.map((m) => m.messageId)).toEqual(['evt_vanish']);
		expect(await count(archive, 'pending')).toEqual([]);
	});

	it('uses the body hash as event id when none is given, so an identical retry is a duplicate', async () => {
		const archive = await freshStoreArchive();
		const body = Buffer.from('{"no":"id"}');
		const first = await archive.store({ body, source: 'x' });
		const second = await archive.store({ body, source: 'x' });
		expect(first.eventId).toBe(`sha256:${createHash('sha256').update(body).digest('hex')}`);
		expect(second).toMatchObject({ duplicate: true, key: first.key });
	});

	it('stores a body that is not JSON as received, flagged raw, with its content type and kept headers', async () => {
		const archive = await freshStoreArchive();
		const body = Buffer.from('topic=payment&id=123&amount=19990\xff', 'latin1');
		const stored = await archive.store({
			body,
			eventId: 'mp-123',
			source: 'mercadopago',
			contentType: 'application/x-www-form-urlencoded',
			headers: { 'X-Signature': 'ts=1,v1=ab' },
		});
		expect(stored.bodyFormat).toBe('raw');
		const got = await archive.get(stored.key);
		expect(got.body.equals(body)).toBe(true);
		expect(got).toMatchObject({
			bodyFormat: 'raw',
			contentType: 'application/x-www-form-urlencoded',
			eventId: 'mp-123',
			source: 'mercadopago',
			headers: { 'x-signature': 'ts=1,v1=ab' },
		});
	});

	it('fails with ArchiveWriteError when the duplicate check cannot be read, and takes back the object written alongside it', async () => {
		const archive = await freshStoreArchive();
		// An unreadable id marker fails the check while the object write (sent together with it) succeeds.
		await clients[clients.length - 1].send(
			new PutObjectCommand({
				Bucket: `it-${bucketNo}`,
				Key: idMarkerKey('checkout', 'evt_torn'),
				Body: '{torn',
			}),
		);
		await expect(
			archive.store({ body: Buffer.from('{}'), eventId: 'evt_torn', source: 'x' }),
		).rejects.toThrow(ArchiveWriteError);
		await expect(
			archive.store({ body: Buffer.from('{}'), eventId: 'evt_torn', source: 'x' }),
		).rejects.toThrow(/did not answer the duplicate check/);
		expect(await count(archive, 'pending')).toEqual([]);
	});

	it('fails with ArchiveWriteError when the store is down, and leaves nothing behind', async () => {
		const archive = await freshStoreArchive();
		await s3.stop();
		try {
			await expect(
				archive.store({ body: Buffer.from('{}'), eventId: 'evt_outage', source: 'x' }),
			).rejects.toBeInstanceOf(ArchiveWriteError);
		} finally {
			await s3.start();
		}
		expect(await count(archive, 'pending')).toEqual([]);
		const retried = await archive.store({
			body: Buffer.from('{}'),
			eventId: 'evt_outage',
			source: 'x',
		});
		expect(retried.duplicate).toBe(false);
	});

	// The bench's own S3 server: s3rver crashed (and lost a write it had answered) when a PUT and a DELETE
	// met in one folder, as the intake and the relay do all day. testbench/s3rver-patch.js closes the race.
	it('the bench S3 server keeps every write when a PUT and a DELETE meet in one folder', async () => {
		const bucket = `it-${++bucketNo}`;
		await s3.createBucket(bucket);
		const client = createS3Client(s3.settings(bucket));
		clients.push(client);
		const missing: string[] = [];
		for (let round = 0; round < 300 && !s3.crashed(); round++) {
			const folder = `pending/f${round % 3}`;
			await client.send(
				new PutObjectCommand({ Bucket: bucket, Key: `${folder}/old-${round}`, Body: 'old' }),
			);
			await Promise.all([
				client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${folder}/old-${round}` })),
				client.send(
					new PutObjectCommand({
						Bucket: bucket,
						Key: `${folder}/new-${round}`,
						Body: `new-${round}`,
					}),
				),
			]);
			const got = await client
				.send(new GetObjectCommand({ Bucket: bucket, Key: `${folder}/new-${round}` }))
				.then(
					(r) => r.Body?.transformToString(),
					() => undefined,
				);
			if (got !== `new-${round}`) missing.push(`${folder}/new-${round}`);
			await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${folder}/new-${round}` }));
		}
		expect({ crashed: s3.crashed(), missing }).toEqual({ crashed: undefined, missing: [] });
	});
});

describe('partitions', () => {
	it("relays each lead's messages to one of N queues, in their order, and spreads the leads over all of them", async () => {
		const archive = await freshArchive();
		const t = uniqueTopology('partitions');
		partitioned.push(t);
		await declareTopology(broker, t, 4);
		const base = Date.UTC(2026, 11, 1, 12, 0, 0);
		const sent: Array<{ lead: string; id: string }> = [];
		for (let k = 0; k < 4; k++)
			for (let lead = 0; lead < 30; lead++) {
				const id = `p-${lead}-${k}`;
				const body =
					k === 0
						? { leadId: `L${lead}`, eventId: id, type: 'lead.captured' }
						: { eventId: id, leadRef: `L${lead}`, type: 'paid' };
				await archive.store({
					body: Buffer.from(JSON.stringify(body)),
					eventId: id,
					source: 'test',
					receivedAtMs: base + sent.length,
				});
				sent.push({ lead: `L${lead}`, id });
			}
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const report = await relayPending(
			archive,
			publisher,
			{ ...t, partitions: 4, partitionKey: partitionKeyOf },
			{ ...DEFAULT_LIMITS, pageSize: 50 },
		);
		await connection.close();
		expect(report).toMatchObject({ published: sent.length, stoppedBy: 'empty' });
		const byQueue = await Promise.all(
			partitionQueues(t, 4).map(async ({ queue }) => await drainQueue(broker, queue, 500, 1000)),
		);
		expect(byQueue.map((q) => q.length > 0)).toEqual([true, true, true, true]);
		expect(byQueue.flat()).toHaveLength(sent.length);
		const leadOf = (m: { content: Buffer }) => {
			const b = JSON.parse(m.content.toString('utf8')) as { leadId?: string; leadRef?: string };
			return b.leadId ?? b.leadRef!;
		};
		for (let lead = 0; lead < 30; lead++) {
			const holding = byQueue.filter((q) => q.some((m) => leadOf(m) === `L${lead}`));
			expect({ lead, queues: holding.length }).toEqual({ lead, queues: 1 });
			// In the order they were received.
			expect(holding[0].filter((m) => leadOf(m) === `L${lead}`).map((m) => m.messageId)).toEqual(
				sent.filter((s) => s.lead === `L${lead}`).map((s) => s.id),
			);
		}
	});

	it("re-drives each dead letter to its lead's partition", async () => {
		const t = uniqueTopology('partitions-redrive');
		partitioned.push(t);
		await declareTopology(broker, t, 3);
		const leads = ['A', 'B', 'C', 'D', 'E', 'F'];
		await publishConfirmed(
			broker,
			{ exchange: t.deadLetterExchange, routingKey: t.deadLetterQueue },
			leads.map((lead) => ({
				body: { eventId: `dl-${lead}`, leadRef: lead, type: 'paid' },
				messageId: `dl-${lead}`,
			})),
		);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const report = await redriveDeadLetters(connection, t, {
			max: 100,
			idleMs: 500,
			partitions: 3,
			partitionKey: partitionKeyOf,
		});
		await connection.close();
		expect(report.moved).toBe(leads.length);
		const byQueue = await Promise.all(
			partitionQueues(t, 3).map(async ({ queue }) => await drainQueue(broker, queue, 50, 1000)),
		);
		for (const lead of leads) {
			const expected = partitionOf(`lead:${lead}`, 3);
			expect({
				lead,
				queue: byQueue.findIndex((q) => q.some((m) => m.messageId === `dl-${lead}`)),
			}).toEqual({ lead, queue: expected });
		}
	});
});

describe('relay', () => {
	it('keeps key order across more than 1,000 pending objects (several list pages), byte-equal', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('order');
		const bodies = await storeMany(archive, 1100);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const report = await relayPending(archive, publisher, t, { ...DEFAULT_LIMITS, pageSize: 300 });
		await connection.close();
		expect(report).toMatchObject({ published: 1100, stoppedBy: 'empty' });
		expect(report.pages).toBeGreaterThanOrEqual(4);
		const messages = await drainQueue(broker, t.queue, 2000);
		expect(messages.map((m) => m.content.toString('utf8'))).toEqual(bodies);
		expect(messages.map((m) => m.messageId)).toEqual(bodies.map((b) => JSON.parse(b).id));
		expect(await count(archive, 'pending')).toEqual([]);
		expect(await count(archive, 'relayed')).toHaveLength(1100);
	});

	it('stops at the item limit and continues where it stopped on the next run', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('limit');
		const bodies = await storeMany(archive, 50);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const first = await relayPending(archive, publisher, t, {
			...DEFAULT_LIMITS,
			maxItems: 20,
			pageSize: 7,
		});
		const second = await relayPending(archive, publisher, t, { ...DEFAULT_LIMITS, pageSize: 7 });
		await connection.close();
		expect(first).toMatchObject({ published: 20, stoppedBy: 'maxItems' });
		expect(second).toMatchObject({ published: 30, stoppedBy: 'empty' });
		const messages = await drainQueue(broker, t.queue, 100);
		expect(messages.map((m) => m.content.toString())).toEqual(bodies);
	});

	it('loses nothing and marks nothing relayed without a confirm when the broker connection dies mid-relay', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('cut');
		const bodies = await storeMany(archive, 400);
		const proxy = await startTcpProxy(RABBITMQ_PORT);
		try {
			const connection = await connectAmqp({ url: brokerUrlVia(proxy.port) });
			connection.on('error', () => undefined);
			const inner = await ConfirmPublisher.open(connection);
			let published = 0;
			// The outage strikes after 150 messages went out: some confirmed, the rest in flight.
			const cutting: Publisher = {
				publish: async (exchange, routingKey, message) => {
					if (++published === 150) proxy.cut();
					return inner.publish(exchange, routingKey, message);
				},
			};
			const error = await relayPending(archive, cutting, t, {
				...DEFAULT_LIMITS,
				pageSize: 100,
			}).catch((e: unknown) => e);
			expect(error).toBeInstanceOf(RelayError);
			const partial = (error as RelayError).report;
			expect(partial.published).toBeGreaterThanOrEqual(100);
			expect(partial.published).toBeLessThan(400);

			// Every object marked relayed reached the queue; nothing vanished.
			const relayedAfterCut = await count(archive, 'relayed');
			const pendingAfterCut = await count(archive, 'pending');
			expect(relayedAfterCut.length + pendingAfterCut.length).toBe(400);
			const delivered = await drainQueue(broker, t.queue, 1000, 1000);
			const deliveredIds = new Set(delivered.map((m) => m.messageId));
			for (const key of relayedAfterCut)
				expect(deliveredIds.has(key.split('-').pop()!.replace('.json', ''))).toBe(true);

			// The next run, with the broker reachable again, relays the rest.
			proxy.restore();
			const again = await connectAmqp({ url: brokerUrlVia(proxy.port) });
			const report = await relayPending(
				archive,
				await ConfirmPublisher.open(again),
				t,
				DEFAULT_LIMITS,
			);
			await again.close();
			expect(report.published).toBe(pendingAfterCut.length);
			const rest = await drainQueue(broker, t.queue, 1000, 1000);
			const all = new Set([...deliveredIds, ...rest.map((m) => m.messageId)]);
			expect(all.size).toBe(400);
			expect([...all].sort()).toEqual(bodies.map((b) => JSON.parse(b).id).sort());
			expect(await count(archive, 'pending')).toEqual([]);
		} finally {
			await proxy.close();
		}
	});

	it('moves nothing when no queue would receive the messages (unroutable counts as not delivered)', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('unroutable');
		await storeMany(archive, 3);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const error = await relayPending(
			archive,
			await ConfirmPublisher.open(connection),
			{ exchange: t.exchange, routingKey: 'nobody.listens' },
			DEFAULT_LIMITS,
		).catch((e: unknown) => e);
		await connection.close();
		expect(error).toBeInstanceOf(RelayError);
		expect((error as Error).message).toMatch(/No queue is bound/);
		expect(await count(archive, 'pending')).toHaveLength(3);
		expect(await count(archive, 'relayed')).toHaveLength(0);
	});

	it('lets only one of two overlapping runs relay (lease without conditional writes)', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('lease');
		await storeMany(archive, 200);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const run = async () =>
			relayPending(
				archive,
				await ConfirmPublisher.open(connection),
				t,
				{ ...DEFAULT_LIMITS, pageSize: 50 },
				new Lease(archive.leaseStore('relay'), { ttlMs: 30_000, settleMs: 1000 }),
			);
		const [a, b] = await Promise.all([run(), run()]);
		await connection.close();
		const stops = [a.stoppedBy, b.stoppedBy].sort();
		expect(stops).toEqual(['busy', 'empty']);
		expect(a.published + b.published).toBe(200);
		const messages = await drainQueue(broker, t.queue, 1000, 1000);
		expect(messages).toHaveLength(200);
		expect(new Set(messages.map((m) => m.messageId)).size).toBe(200);
	});

	it('replays a time range of relayed objects in order, and purge deletes old relayed objects with their markers', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('replay');
		const bodies = await storeMany(archive, 30); // receive times base + i*37 ms
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		await relayPending(archive, publisher, t, DEFAULT_LIMITS);
		await drainQueue(broker, t.queue, 100, 500);
		const base = Date.UTC(2026, 10, 27, 10, 59, 0, 0);
		const report = await replayRange(
			archive,
			publisher,
			t,
			{ fromMs: base + 10 * 37, toMs: base + 19 * 37 },
			{ ...DEFAULT_LIMITS, pageSize: 4 },
		);
		await connection.close();
		expect(report.published).toBe(10);
		const replayed = await drainQueue(broker, t.queue, 100, 1000);
		expect(replayed.map((m) => m.content.toString())).toEqual(bodies.slice(10, 20));

		const purged = await archive.purgeRelayed(base + 5 * 37);
		expect(purged.deleted).toBe(5);
		expect(await count(archive, 'relayed')).toHaveLength(25);
		// The purged events' markers are gone: storing one again is a new event, a kept one is a duplicate.
		expect(
			(await archive.store({ body: Buffer.from(bodies[0]), eventId: 'evt_000000', source: 'test' }))
				.duplicate,
		).toBe(false);
		expect(
			(await archive.store({ body: Buffer.from(bodies[7]), eventId: 'evt_000007', source: 'test' }))
				.duplicate,
		).toBe(true);
	});
});

describe('lead revisions and closed checkouts', () => {
	const leadId = '01938a6e-1f00-7000-8000-000000000abc';

	it('finds the newest revision of a lead, pending or relayed, and an older lead stored under its bare id', async () => {
		const archive = await freshArchive();
		const t = Date.UTC(2026, 11, 1, 9, 0, 0);
		await archive.store({
			body: Buffer.from(JSON.stringify({ leadId, product: 'A' })),
			eventId: `${leadId}.aaaaaaaaaaaa`,
			source: 'lead',
			receivedAtMs: t,
		});
		await archive.store({
			body: Buffer.from(JSON.stringify({ leadId, product: 'B' })),
			eventId: `${leadId}.bbbbbbbbbbbb`,
			source: 'lead',
			receivedAtMs: t + 5000,
		});
		// A lead id that merely starts with this one is another lead.
		await archive.store({
			body: Buffer.from('{"other":true}'),
			eventId: `${leadId}0`,
			source: 'lead',
			receivedAtMs: t + 9000,
		});
		expect(
			JSON.parse((await new LeadRegistry(archive).findLatestRevision(leadId))!.body.toString())
				.product,
		).toBe('B');
		// After the sweep moved them to relayed/.
		const pending: string[] = [];
		for await (const page of archive.walk('pending')) pending.push(...page.map((o) => o.key));
		await archive.move(pending, 'relayed');
		expect(
			JSON.parse((await new LeadRegistry(archive).findLatestRevision(leadId))!.body.toString())
				.product,
		).toBe('B');
		const older = '01938a6e-1f00-7000-8000-000000000def';
		await archive.store({ body: Buffer.from('{"legacy":true}'), eventId: older, source: 'lead' });
		expect(
			JSON.parse((await new LeadRegistry(archive).findLatestRevision(older))!.body.toString()),
		).toEqual({
			legacy: true,
		});
		expect(
			await new LeadRegistry(archive).findLatestRevision('01938a6e-1f00-7000-8000-000000000fff'),
		).toBeUndefined();
	});

	it('closes a lead for good (idempotent), and fails loudly when the store is down', async () => {
		const archive = await freshArchive();
		expect(await new LeadRegistry(archive).isLeadClosed(leadId)).toBe(false);
		await new LeadRegistry(archive).closeLead(leadId, { eventId: 'evt_1' });
		await new LeadRegistry(archive).closeLead(leadId, { eventId: 'evt_1' });
		expect(await new LeadRegistry(archive).isLeadClosed(leadId)).toBe(true);
		expect(
			await new LeadRegistry(archive).isLeadClosed('01938a6e-1f00-7000-8000-000000000123'),
		).toBe(false);
		await s3.stop();
		try {
			await expect(
				new LeadRegistry(archive).closeLead(leadId, { eventId: 'evt_2' }),
			).rejects.toBeInstanceOf(ArchiveWriteError);
			await expect(new LeadRegistry(archive).isLeadClosed(leadId)).rejects.toThrow();
		} finally {
			await s3.start();
		}
	});
});

describe('ambiguous S3 failures (a fault-injecting proxy that answers 412 to If-None-Match like AWS S3 and MinIO)', () => {
	let proxy: S3FaultProxy;
	beforeEach(async () => {
		proxy = await startS3FaultProxy(s3.settings('unused'));
	});
	afterEach(async () => {
		await proxy.close();
	});

	async function proxiedArchive(
		prefix = 'checkout',
	): Promise<{ archive: S3Archive; direct: S3Archive }> {
		const bucket = `it-${++bucketNo}`;
		await s3.createBucket(bucket);
		const proxied = { ...s3.settings(bucket), endpoint: proxy.endpoint };
		const client = createS3Client(proxied);
		const directClient = createS3Client(s3.settings(bucket));
		clients.push(client, directClient);
		return {
			archive: new S3Archive(client, { bucket, prefix, writer: writerFor(proxied, 'writer') }),
			direct: new S3Archive(directClient, { bucket, prefix }),
		};
	}
	const pendingKeys = async (archive: S3Archive) => {
		const keys: string[] = [];
		for await (const page of archive.walk('pending')) keys.push(...page.map((o) => o.key));
		return keys;
	};

	it('one object whose GET is always denied does not stop the relay: skipped and tried on later runs, moved aside with its reason after its tries, sent once brought back', async () => {
		const { archive, direct } = await proxiedArchive();
		const t = await freshTopology('aside');
		const ids = ['evt_a1', 'evt_bad', 'evt_a2', 'evt_a3'];
		for (const [i, id] of ids.entries())
			await direct.store({
				body: Buffer.from(JSON.stringify({ id })),
				eventId: id,
				source: 'test',
				receivedAtMs: Date.parse('2026-12-01T10:00:00Z') + i,
			});
		const badKey = (await pendingKeys(direct)).find((k) => k.includes('evt_bad'))!;
		const lift = proxy.deny((r) => r.method === 'GET' && r.path.endsWith(badKey));
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const publisher = await ConfirmPublisher.open(connection);
		const failures = new RelayFailures(archive, 2);
		const run = async () =>
			await relayPending(archive, publisher, t, DEFAULT_LIMITS, undefined, Date.now, failures);
		const first = await run();
		expect(first).toMatchObject({
			published: 3,
			stoppedBy: 'empty',
			movedAside: [],
			skippedAside: 0,
		});
		expect(first.failedObjects).toEqual([
			{ key: badKey, tries: 1, reason: expect.stringMatching(/^GET: AccessDenied \(HTTP 403\)/) },
		]);
		// New events keep flowing past it, run after run.
		await direct.store({ body: Buffer.from('{"id":"evt_b1"}'), eventId: 'evt_b1', source: 'test' });
		const second = await run();
		expect(second.published).toBe(1);
		expect(second.movedAside).toEqual([
			expect.objectContaining({
				key: badKey,
				tries: 2,
				reason: expect.stringMatching(/AccessDenied/),
			}),
		]);
		const third = await run();
		expect(third).toMatchObject({ published: 0, skippedAside: 1, failedObjects: [] });
		expect(proxy.seen.filter((r) => r.method === 'GET' && r.path.endsWith(badKey))).toHaveLength(2); // moved aside: not tried again
		// What List shows.
		expect(await failures.listAside()).toEqual([
			expect.objectContaining({ key: badKey, tries: 2, asideAt: expect.any(String) }),
		]);
		// The cause fixed (the key policy), it is brought back and the next run sends it.
		lift();
		expect((await failures.bringBack(['evt_bad'])).map((r) => r.key)).toEqual([badKey]);
		const fourth = await run();
		await connection.close();
		expect(fourth).toMatchObject({ published: 1, failedObjects: [], movedAside: [] });
		const sent = await drainQueue(broker, t.queue, 20);
		expect(sent.map((m) => m.messageId)).toEqual([
			'evt_a1',
			'evt_a2',
			'evt_a3',
			'evt_b1',
			'evt_bad',
		]);
		expect(await failures.current()).toEqual({ trying: new Set(), aside: new Set() });
	});

	it('the proxy does what AWS does: a second If-None-Match write of a key is refused', async () => {
		const { archive } = await proxiedArchive();
		await archive.store({ body: Buffer.from('{"a":1}'), eventId: 'evt_first', source: 'test' });
		expect(
			(await archive.store({ body: Buffer.from('{"a":1}'), eventId: 'evt_first', source: 'test' }))
				.duplicate,
		).toBe(true);
		await new LeadRegistry(archive).closeLead('lead-x', { eventId: 'e' });
		expect(proxy.seen.some((r) => r.method === 'PUT' && r.headers['if-none-match'] === '*')).toBe(
			true,
		);
	});

	it('a marker write done by S3 whose answer was lost: the SDK retries, gets 412, and the event is still stored (not taken for a duplicate)', async () => {
		const { archive, direct } = await proxiedArchive();
		await archive.markerWrites(); // the probe's own 412s are not this test's
		const probeFailures = proxy.preconditionFailures;
		proxy.loseAnswers((r) => r.method === 'PUT' && r.path.includes('/ids/'), 1);
		const stored = await archive.store({
			body: Buffer.from('{"evt":"lost-answer"}'),
			eventId: 'evt_lost_answer',
			source: 'stripe',
		});
		expect(proxy.preconditionFailures - probeFailures).toBe(1); // the retry met the marker its first try wrote
		expect(stored.duplicate).toBe(false);
		expect(await pendingKeys(direct)).toEqual([stored.key]);
		expect((await direct.findByEventId('evt_lost_answer'))?.body.toString()).toBe(
			'{"evt":"lost-answer"}',
		);
		// The gateway's retry of the same event is a duplicate of that one object.
		expect(
			await archive.store({
				body: Buffer.from('{"evt":"lost-answer"}'),
				eventId: 'evt_lost_answer',
				source: 'stripe',
			}),
		).toMatchObject({ duplicate: true, key: stored.key });
		expect(await pendingKeys(direct)).toHaveLength(1);
	});

	it('an object write whose answer was lost is retried onto the same key: one object, stored', async () => {
		const { archive, direct } = await proxiedArchive();
		proxy.loseAnswers((r) => r.method === 'PUT' && r.path.includes('/pending/'), 1);
		const stored = await archive.store({
			body: Buffer.from('{"n":1}'),
			eventId: 'evt_object_lost',
			source: 'stripe',
		});
		expect(stored.duplicate).toBe(false);
		expect(await pendingKeys(direct)).toEqual([stored.key]);
	});

	it('on a store that honours conditional writes, a new event is two writes in one round trip and a paid event three; a duplicate keeps nothing', async () => {
		const { archive, direct } = await proxiedArchive();
		const leads = new LeadRegistry(archive);
		await archive.store({ body: Buffer.from('{"warm":1}'), eventId: 'evt_warm', source: 'test' });
		expect(await archive.markerWrites()).toBe('conditional');
		const requestsOf = async (store: () => Promise<unknown>) => {
			const before = proxy.seen.length;
			await store();
			return proxy.seen.slice(before).map((r) => `${r.method} ${r.path.split('/')[3]}`);
		};
		expect(
			(
				await requestsOf(() =>
					archive.store({ body: Buffer.from('{"n":1}'), eventId: 'evt_new', source: 'stripe' }),
				)
			).sort(),
		).toEqual(['PUT ids', 'PUT pending']);
		const paid = { type: 'paid', leadRef: 'lead-paid-1', occurredAt: '2026-12-02T10:00:00Z' };
		expect(
			(
				await requestsOf(() =>
					storeVerifiedEvent(archive, leads, {
						body: Buffer.from(JSON.stringify(paid)),
						eventId: 'evt_paid',
						source: 'stripe',
						event: paid,
						closeLinks: true,
					}),
				)
			).sort(),
		).toEqual(['PUT closed', 'PUT ids', 'PUT pending']);
		expect(await leads.isLeadClosed('lead-paid-1')).toBe(true);
		// A duplicate: its object is taken back once the marker's object is seen.
		const again = await archive.store({
			body: Buffer.from('{"n":1}'),
			eventId: 'evt_new',
			source: 'stripe',
		});
		expect(again.duplicate).toBe(true);
		expect((await pendingKeys(direct)).filter((k) => k.includes('evt_new'))).toEqual([again.key]);
	});

	it('a marker that names an object never stored (a store that died between its writes) is taken over by the retry: stored, not answered as a duplicate', async () => {
		const { archive, direct } = await proxiedArchive();
		const orphan = objectKey('checkout', 'pending', Date.now() - 60_000, 'evt_orphan', 'deadbeef');
		await direct.s3.send(
			new PutObjectCommand({
				Bucket: direct.bucket,
				Key: idMarkerKey('checkout', 'evt_orphan'),
				Body: JSON.stringify({ key: orphan, eventId: 'evt_orphan', source: 'stripe' }),
			}),
		);
		const stored = await archive.store({
			body: Buffer.from('{"evt":"orphan"}'),
			eventId: 'evt_orphan',
			source: 'stripe',
		});
		expect(stored.duplicate).toBe(false);
		expect(stored.key).not.toBe(orphan);
		expect((await direct.findByEventId('evt_orphan'))?.body.toString()).toBe('{"evt":"orphan"}');
		expect(
			(await archive.store({ body: Buffer.from('{}'), eventId: 'evt_orphan', source: 'stripe' }))
				.duplicate,
		).toBe(true);
		expect(await pendingKeys(direct)).toEqual([stored.key]);
	});

	it('an object write S3 refuses while its marker lands: the sender gets ArchiveWriteError, and its retry stores the event', async () => {
		const { archive, direct } = await proxiedArchive();
		await archive.markerWrites();
		const lift = proxy.deny((r) => r.method === 'PUT' && r.path.includes('/pending/'));
		await expect(
			archive.store({ body: Buffer.from('{"n":2}'), eventId: 'evt_refused', source: 'stripe' }),
		).rejects.toThrow(ArchiveWriteError);
		lift();
		const retried = await archive.store({
			body: Buffer.from('{"n":2}'),
			eventId: 'evt_refused',
			source: 'stripe',
		});
		expect(retried.duplicate).toBe(false);
		expect(await pendingKeys(direct)).toEqual([retried.key]);
		expect((await direct.findByEventId('evt_refused'))?.body.toString()).toBe('{"n":2}');
	});

	it('two processes storing the same event in the same millisecond: exactly one object remains, and its marker points to it', async () => {
		const { archive: first } = await proxiedArchive();
		const proxied = { ...s3.settings(first.bucket), endpoint: proxy.endpoint };
		const second = new S3Archive(createS3Client(proxied), {
			bucket: first.bucket,
			prefix: 'checkout',
			writer: writerFor(proxied, 'writer'),
		});
		const direct = new S3Archive(createS3Client(s3.settings(first.bucket)), {
			bucket: first.bucket,
			prefix: 'checkout',
		});
		const at = Date.UTC(2026, 11, 1, 10, 0, 0, 0);
		for (let round = 0; round < 10; round++) {
			const eventId = `evt_same_ms_${round}`;
			const body = Buffer.from(JSON.stringify({ round }));
			const results = await Promise.all([
				first.store({ body, eventId, source: 'stripe', receivedAtMs: at + round }),
				second.store({ body, eventId, source: 'stripe', receivedAtMs: at + round }),
			]);
			// One store won; the other found the winner's marker and reports the winner's key.
			expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
			expect(results[0].key).toBe(results[1].key);
			const found = await direct.findByEventId(eventId);
			expect(found?.key).toBe(results[0].key);
			expect(found?.body.equals(body)).toBe(true);
		}
		const keys = await pendingKeys(direct);
		expect(new Set(keys.map((k) => parseKey('checkout', k)!.safeEventId)).size).toBe(10);
		expect(keys).toHaveLength(10);
	});
});

describe('relay under broker faults', () => {
	it('a broker that stops confirming (publishers blocked, a silent connection) ends the run with an error, not a hang; nothing is marked relayed', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('no-confirms');
		await storeMany(archive, 20);
		const proxy = await startTcpProxy(RABBITMQ_PORT);
		try {
			const connection = await connectAmqp({ url: brokerUrlVia(proxy.port) });
			connection.on('error', () => undefined);
			const publisher = await ConfirmPublisher.open(connection, { confirmTimeoutMs: 800 });
			proxy.freeze();
			const started = Date.now();
			const error = await relayPending(archive, publisher, t, DEFAULT_LIMITS).catch(
				(e: unknown) => e,
			);
			expect(Date.now() - started).toBeLessThan(10_000);
			expect(error).toBeInstanceOf(RelayError);
			expect((error as Error).message).toMatch(/did not confirm message .* within 800 ms/);
			expect(await count(archive, 'relayed')).toEqual([]);
			expect(await count(archive, 'pending')).toHaveLength(20);
			proxy.thaw();
			await connection.close().catch(() => undefined);
		} finally {
			await proxy.close();
		}
	});

	it('renews the lease while a slow page is in flight, so a second sweep never takes over a live run', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('slow-page');
		await storeMany(archive, 10);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		try {
			const inner = await ConfirmPublisher.open(connection);
			// A page whose confirms take 9 s, far longer than the lease's 2 s (a lease much shorter than that is
			// lost on a loaded machine, where one S3 write of its renewal can take most of a second).
			const slow: Publisher = {
				publish: async (exchange, routingKey, message) => {
					const { confirmed } = await inner.publish(exchange, routingKey, message);
					return {
						confirmed: confirmed.then(
							async () => await new Promise<void>((r) => setTimeout(r, 9000)),
						),
					};
				},
			};
			const lease = () => new Lease(archive.leaseStore('relay'), { ttlMs: 2000, settleMs: 100 });
			const first = relayPending(archive, slow, t, DEFAULT_LIMITS, lease());
			await new Promise((r) => setTimeout(r, 4500)); // the first run's lease would have expired twice over
			const second = await relayPending(archive, inner, t, DEFAULT_LIMITS, lease());
			expect(second.stoppedBy).toBe('busy');
			expect(second.published).toBe(0);
			expect((await first).published).toBe(10);
			const messages = await drainQueue(broker, t.queue, 100, 1000);
			expect(messages).toHaveLength(10);
		} finally {
			await connection.close();
		}
	});

	it('marks replayed messages so that consumers run them again instead of dropping them as duplicates', async () => {
		const archive = await freshArchive();
		const t = await freshTopology('replay-mark');
		await storeMany(archive, 3);
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		try {
			const publisher = await ConfirmPublisher.open(connection);
			await relayPending(archive, publisher, t, DEFAULT_LIMITS);
			const first = await drainQueue(broker, t.queue, 10, 500);
			expect(first.every((m) => m.headers['x-replayed-at'] === undefined)).toBe(true);
			await replayRange(
				archive,
				publisher,
				t,
				{ fromMs: 0, toMs: Date.now() + 86_400_000 * 365 * 5 },
				DEFAULT_LIMITS,
			);
			const again = await drainQueue(broker, t.queue, 10, 500);
			expect(again).toHaveLength(3);
			expect(again.every((m) => typeof m.headers['x-replayed-at'] === 'string')).toBe(true);
		} finally {
			await connection.close();
		}
	});
});
