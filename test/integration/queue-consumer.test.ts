/**
 * The queue consumer behind the Checkout Queue Trigger, against the machine's RabbitMQ (quorum queue with
 * a delivery limit and a dead-letter queue, as the relay declares it): order, one message at a time,
 * retries with backoff, dead-lettering after the attempts, poison messages, a handler that dies without
 * settling, and a connection cut.
 */
import type { ChannelModel } from 'amqplib';

import { connectAmqp } from '../../lib/amqp/connection';
import type { IExecuteFunctions, INode, IRun } from 'n8n-workflow';

import {
	runConsumer,
	settlementAfterFailure,
	type HandlerOutcome,
	type QueueMessage,
} from '../../lib/amqp/consumer';
import { redriveDeadLetters } from '../../lib/amqp/redrive';
import { declareTopology, type Topology } from '../../lib/amqp/topology';
import { partitionKeyOf } from '../../lib/checkout/message';
import { gatewayFailureKind } from '../../lib/gateways/failure';
import { PipedriveClient, type PipedriveResponse } from '../../lib/pipedrive/client';
import { failureOf } from '../../lib/util/failure';
import { outcomeOfRun } from '../../nodes/CheckoutQueueTrigger/outcome';
import { pipedriveClientFor } from '../../nodes/PipedriveFollowUp/transport';
import { perItem } from '../../nodes/shared/operation';
import {
	connectBroker,
	deleteTopology,
	drainQueue,
	publishConfirmed,
	uniqueTopology,
	RABBITMQ_URL,
	brokerUrlVia,
	RABBITMQ_PORT,
} from '../../testbench/rabbitmq';
import { waitFor } from '../../testbench/ports';
import { startTcpProxy } from '../../testbench/tcpProxy';

jest.setTimeout(90_000);

let broker: ChannelModel;
const topologies: Topology[] = [];
beforeAll(async () => {
	broker = await connectBroker();
});
afterAll(async () => {
	for (const t of topologies) await deleteTopology(broker, t);
	await broker?.close();
});

async function queueWith(label: string, bodies: Array<string | object>): Promise<Topology> {
	const t = uniqueTopology(label);
	topologies.push(t);
	await declareTopology(broker, t);
	await publishConfirmed(
		broker,
		t,
		bodies.map((body, i) => ({ body, messageId: `m${i}` })),
	);
	return t;
}

const until = async (check: () => boolean, ms = 20_000) =>
	await waitFor('the consumer', async () => check() || undefined, {
		timeoutMs: ms,
		intervalMs: 25,
	});

const connect = () => connectAmqp({ url: RABBITMQ_URL });

it('settlement: retry until the last attempt, then dead-letter', () => {
	expect([0, 1, 2, 3, 4].map((n) => settlementAfterFailure(n, 5))).toEqual([
		'retry',
		'retry',
		'retry',
		'retry',
		'dead-letter',
	]);
	expect(settlementAfterFailure(0, 1)).toBe('dead-letter');
});

/** The error a Pipedrive call fails with when Pipedrive answers `status` (real client, real retry policy). */
async function pipedriveFailure(status: number, bodyText = '{"success":false}'): Promise<Error> {
	const answer: PipedriveResponse = { status, headers: {}, bodyText };
	const client = new PipedriveClient(async () => answer, 'test-account', {
		maxAttempts: 1,
		baseDelayMs: 1,
		maxDelayMs: 1,
	});
	return await client.getDeal(7).then(
		() => new Error('no failure'),
		(error: Error) => error,
	);
}

it('lasting failures: Pipedrive refusing or blocking, a gateway down or refusing; a payment the gateway does not know is not one', async () => {
	// The kind is set where the error is made (lib/util/failure.ts), not read from its message.
	expect(failureOf(await pipedriveFailure(401)).kind).toBe('lasting');
	expect(gatewayFailureKind(503)).toBe('lasting');
	expect(gatewayFailureKind(401)).toBe('lasting');
	expect(gatewayFailureKind(undefined)).toBe('lasting'); // no answer: connect ECONNREFUSED
	expect(gatewayFailureKind(404)).toBe('retryable');
	expect(failureOf(await pipedriveFailure(400, '{"error":"bad request"}')).kind).toBe('retryable');
	// A Pipedrive credential with a blank token (compose's .env before the shop has one): lasting too.
	const blank = await pipedriveClientFor({
		getNodeParameter: () => 'apiToken',
		getCredentials: async () => ({ apiToken: ' ' }),
		getNode: () => ({ credentials: {} }),
	} as unknown as IExecuteFunctions).then(
		() => undefined,
		(error: unknown) => error,
	);
	expect(failureOf(blank).kind).toBe('lasting');
});

it('handles messages in queue order, one at a time, and acks each after its handler succeeded', async () => {
	const t = await queueWith(
		'order',
		Array.from({ length: 30 }, (_, i) => ({ seq: i })),
	);
	const seen: number[] = [];
	let inFlight = 0;
	let maxInFlight = 0;
	const consumer = runConsumer(
		connect,
		{ queue: t.queue, maxAttempts: 3, retryDelayMs: () => 10 },
		async (m) => {
			inFlight++;
			maxInFlight = Math.max(maxInFlight, inFlight);
			await new Promise((r) => setTimeout(r, 5));
			seen.push(m.body.seq as number);
			inFlight--;
			return { ok: true };
		},
	);
	await until(() => seen.length === 30);
	await consumer.stop();
	expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
	expect(maxInFlight).toBe(1);
	expect(await drainQueue(broker, t.queue, 10, 500)).toEqual([]);
});

it('a failing message is retried with backoff, holding its place, then dead-lettered after the attempts; the next ones go on', async () => {
	const t = await queueWith('retry', [{ seq: 0 }, { seq: 1, fail: true }, { seq: 2 }]);
	const log: Array<[number, number, number]> = [];
	const started = Date.now();
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			deadLetterQueue: t.deadLetterQueue,
			maxAttempts: 3,
			retryDelayMs: (n) => 100 * n,
		},
		async (m): Promise<HandlerOutcome> => {
			log.push([m.body.seq as number, m.deliveryCount, Date.now() - started]);
			return m.body.fail
				? { ok: false, failure: { kind: 'retryable', reason: 'Pipedrive answered 500 3 times' } }
				: { ok: true };
		},
	);
	await until(() => log.some(([seq]) => seq === 2));
	await consumer.stop();
	expect(log.map(([seq, count]) => [seq, count])).toEqual([
		[0, 0],
		[1, 0],
		[1, 1],
		[1, 2],
		[2, 0],
	]);
	// the second retry waited longer than the first
	const times = log.filter(([seq]) => seq === 1).map(([, , at]) => at);
	expect(times[2] - times[1]).toBeGreaterThan(times[1] - times[0]);
	const dead = await drainQueue(broker, t.deadLetterQueue, 5, 1000);
	expect(dead.map((d) => JSON.parse(d.content.toString()))).toEqual([{ seq: 1, fail: true }]);
	expect(dead[0].messageId).toBe('m1');
	// Why it is there travels with it, for the operator who reads the dead-letter queue.
	expect(dead[0].headers['x-dead-letter-reason']).toBe(
		'failed on 3 deliveries; last error: Pipedrive answered 500 3 times',
	);
	expect(Date.parse(String(dead[0].headers['x-dead-lettered-at']))).toBeGreaterThan(started);
});

it('a poison message (not JSON) goes to the dead-letter queue at once and does not block the queue', async () => {
	const t = await queueWith('poison', [{ seq: 0 }, 'this is not json', { seq: 2 }]);
	const seen: number[] = [];
	const logs: string[] = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			deadLetterQueue: t.deadLetterQueue,
			maxAttempts: 5,
			retryDelayMs: () => 10,
			log: (_l, m) => logs.push(m),
		},
		async (m) => {
			seen.push(m.body.seq as number);
			return { ok: true };
		},
	);
	await until(() => seen.length === 2);
	await consumer.stop();
	expect(seen).toEqual([0, 2]);
	expect(logs.some((l) => /m1 goes to the dead-letter queue: body is not JSON/.test(l))).toBe(true);
	const dead = await drainQueue(broker, t.deadLetterQueue, 5, 1000);
	expect(dead.map((d) => d.content.toString())).toEqual(['this is not json']);
	expect(dead[0].headers['x-dead-letter-reason']).toMatch(/^poison message: body is not JSON/);
});

it("a dead-letter queue that does not exist loses nothing: the unroutable copy is not taken as confirmed, the message is rejected to the queue's own dead-letter exchange", async () => {
	const t = await queueWith('missing-dlq', ['not json either']);
	const logs: string[] = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			deadLetterQueue: `${t.deadLetterQueue}.missing`,
			maxAttempts: 2,
			retryDelayMs: () => 10,
			log: (_l, m) => logs.push(m),
		},
		async () => ({ ok: true }),
	);
	await until(() => logs.some((l) => /goes to the dead-letter queue/.test(l)));
	await consumer.stop();
	expect(logs.some((l) => /does not exist/.test(l))).toBe(true);
	const dead = await drainQueue(broker, t.deadLetterQueue, 5, 1000);
	expect(dead.map((d) => d.content.toString())).toEqual(['not json either']);
	expect(dead[0].headers['x-dead-letter-reason']).toBeUndefined(); // the broker's own dead-lettering, with its x-death
});

it('a consumer that dies mid-message (never settles) loses nothing: the message comes back to the next consumer, marked as redelivered', async () => {
	const t = await queueWith('crash', [{ seq: 0 }, { seq: 1 }]);
	let firstSaw: QueueMessage | undefined;
	const first = runConsumer(
		connect,
		{ queue: t.queue, maxAttempts: 5, retryDelayMs: () => 10 },
		async (m) => {
			firstSaw = m;
			return await new Promise<HandlerOutcome>(() => undefined); // the execution never finishes
		},
	);
	await until(() => firstSaw !== undefined);
	await first.stop(); // as a killed n8n: the connection goes, the message was never acked
	const seen: QueueMessage[] = [];
	const second = runConsumer(
		connect,
		{ queue: t.queue, maxAttempts: 5, retryDelayMs: () => 10 },
		async (m) => {
			seen.push(m);
			return { ok: true };
		},
	);
	await until(() => seen.length === 2);
	await second.stop();
	expect(seen.map((m) => m.body.seq)).toEqual([0, 1]);
	expect(seen[0].redelivered || seen[0].deliveryCount > 0).toBe(true);
});

it('reconnects after the connection is cut and finishes the queue, each message acked once', async () => {
	const t = await queueWith(
		'cut',
		Array.from({ length: 20 }, (_, i) => ({ seq: i })),
	);
	const proxy = await startTcpProxy(RABBITMQ_PORT);
	const seen: number[] = [];
	const consumer = runConsumer(
		() => connectAmqp({ url: brokerUrlVia(proxy.port) }),
		{ queue: t.queue, maxAttempts: 5, retryDelayMs: () => 10, maxReconnectDelayMs: 300 },
		async (m) => {
			await new Promise((r) => setTimeout(r, 20));
			seen.push(m.body.seq as number);
			if (seen.length === 8) {
				proxy.cut();
				setTimeout(() => proxy.restore(), 300);
			}
			return { ok: true };
		},
	);
	await until(() => new Set(seen).size === 20, 30_000);
	// A message handled on the connection that was cut lost its ack with it: the broker delivers it again
	// on the new one. Give that copy time to be handled before stopping (RabbitMQ 4 redelivers it later
	// than 3.x does), else it goes back to the queue unacked, which is right but not what this checks.
	await new Promise((r) => setTimeout(r, 1500));
	await consumer.stop();
	await proxy.close();
	// Nothing lost; the message whose ack was cut off may be seen twice (at least once), in order otherwise.
	expect([...new Set(seen)]).toEqual(Array.from({ length: 20 }, (_, i) => i));
	expect(seen.length - 20).toBeLessThanOrEqual(1);
	expect(await drainQueue(broker, t.queue, 10, 500)).toEqual([]);
});

it('a handling that never reports back counts as failed after the timeout: the message is retried, not held forever', async () => {
	const t = await queueWith('timeout', [{ seq: 0 }, { seq: 1 }]);
	const deliveries: Array<[number, number]> = [];
	const logs: string[] = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			maxAttempts: 3,
			retryDelayMs: () => 10,
			handlerTimeoutMs: 300,
			log: (_l, m) => logs.push(m),
		},
		async (m) => {
			deliveries.push([m.body.seq as number, m.deliveryCount]);
			if (m.body.seq === 0 && m.deliveryCount === 0)
				return await new Promise<HandlerOutcome>(() => undefined);
			return { ok: true };
		},
	);
	await until(() => deliveries.some(([seq]) => seq === 1));
	await consumer.stop();
	expect(deliveries).toEqual([
		[0, 0],
		[0, 1],
		[1, 0],
	]);
	expect(
		logs.some((l) =>
			/m0 failed on delivery 1 of 3; it is tried again in 10 ms: no result within 300 ms/.test(l),
		),
	).toBe(true);
});

describe('never two handlings of one message at once', () => {
	it('after a connection cut, the redelivered message waits for its first handling to end', async () => {
		const t = await queueWith('cut-running', [{ seq: 0 }, { seq: 1 }]);
		const proxy = await startTcpProxy(RABBITMQ_PORT);
		let inFlight = 0;
		let maxInFlight = 0;
		const seen: number[] = [];
		let release!: () => void;
		const firstHandling = new Promise<void>((resolve) => (release = resolve));
		const consumer = runConsumer(
			() => connectAmqp({ url: brokerUrlVia(proxy.port) }),
			{ queue: t.queue, maxAttempts: 5, retryDelayMs: () => 10, maxReconnectDelayMs: 200 },
			async (m) => {
				inFlight++;
				maxInFlight = Math.max(maxInFlight, inFlight);
				seen.push(m.body.seq as number);
				if (seen.length === 1) {
					// The execution is still running when the connection goes; the broker redelivers its message.
					proxy.cut();
					setTimeout(() => proxy.restore(), 200);
					await firstHandling;
				}
				inFlight--;
				return { ok: true };
			},
		);
		await new Promise((r) => setTimeout(r, 1500)); // reconnected, the redelivery waits
		expect(seen).toEqual([0]);
		release();
		await until(() => seen.includes(1), 20_000);
		await consumer.stop();
		await proxy.close();
		expect(maxInFlight).toBe(1);
		expect(seen).toEqual([0, 0, 1]); // at least once: the first handling's ack went with the connection
	});

	it('after its timeout, a handling still running holds back the retry of its message until it ends', async () => {
		const t = await queueWith('timeout-running', [{ seq: 0 }, { seq: 1 }]);
		let inFlight = 0;
		let maxInFlight = 0;
		const seen: Array<[number, number]> = [];
		const consumer = runConsumer(
			connect,
			{ queue: t.queue, maxAttempts: 5, retryDelayMs: () => 10, handlerTimeoutMs: 300 },
			async (m) => {
				inFlight++;
				maxInFlight = Math.max(maxInFlight, inFlight);
				seen.push([m.body.seq as number, m.deliveryCount]);
				if (seen.length === 1) await new Promise((r) => setTimeout(r, 500)); // ends 200 ms after its timeout
				inFlight--;
				return { ok: true };
			},
		);
		await until(() => seen.some(([seq]) => seq === 1));
		await consumer.stop();
		expect(maxInFlight).toBe(1);
		expect(seen).toEqual([
			[0, 0],
			[0, 1],
			[1, 0],
		]);
	});
});

it('a failure that retrying cannot heal (Pipedrive refuses the token) pauses the queue: nothing is dead-lettered, and it resumes on its own once fixed', async () => {
	const t = await queueWith(
		'pause',
		Array.from({ length: 5 }, (_, i) => ({ seq: i })),
	);
	let broken = true;
	const calls: number[] = [];
	const done: number[] = [];
	const logs: string[] = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			maxAttempts: 2,
			retryDelayMs: () => 10,
			pauseProbeMs: 150,
			log: (_l, m) => logs.push(m),
		},
		async (m): Promise<HandlerOutcome> => {
			calls.push(m.body.seq as number);
			if (broken)
				return {
					ok: false,
					failure: {
						kind: 'lasting',
						reason:
							'GET /api/v2/deals/7: Pipedrive refused the credentials (401): check the API token or reconnect OAuth',
					},
				};
			done.push(m.body.seq as number);
			return { ok: true };
		},
	);
	await until(() => calls.length >= 6); // the held message probed again and again, well past its 2 attempts
	expect(new Set(calls)).toEqual(new Set([0]));
	expect(
		logs.some((l) => /^Paused: .*refused the credentials \(401\).*tried again every/.test(l)),
	).toBe(true);
	broken = false; // the token is fixed in n8n
	await until(() => done.length === 5);
	await consumer.stop();
	expect(done).toEqual([0, 1, 2, 3, 4]);
	expect(await drainQueue(broker, t.deadLetterQueue, 5, 500)).toEqual([]);
});

it('the queue pauses on a refused token whatever its message says: the kind travels from where the error was made, through the node and n8n, to the consumer', async () => {
	// The error as Pipedrive's client makes it, then reworded (as a later release might): no text decides.
	const refused = await pipedriveFailure(401);
	refused.message = 'Das Token wurde abgelehnt';
	const node: INode = {
		id: 'n',
		name: 'Upsert lead',
		type: 'n8n-nodes-checkout-recovery.pipedriveFollowUp',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const ctx = {
		getInputData: () => [{ json: {} }],
		continueOnFail: () => false,
		getNode: () => node,
	} as unknown as IExecuteFunctions;
	const thrown = await perItem(ctx, async () => {
		throw refused;
	}).then(
		() => undefined,
		(error: unknown) => error,
	);
	// n8n stores the execution's error and, in queue mode, the main reads it back as JSON.
	const stored = JSON.parse(JSON.stringify(thrown)) as IRun['data']['resultData']['error'];
	const run = { status: 'error', data: { resultData: { error: stored, runData: {} } } } as IRun;
	const outcome = outcomeOfRun(run);
	expect(outcome).toEqual({
		ok: false,
		failure: { kind: 'lasting', reason: 'Das Token wurde abgelehnt', service: 'pipedrive' },
	});

	const t = await queueWith(
		'pause-renamed',
		Array.from({ length: 3 }, (_, i) => ({ seq: i })),
	);
	let broken = true;
	const calls: number[] = [];
	const done: number[] = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			deadLetterQueue: t.deadLetterQueue,
			maxAttempts: 2,
			retryDelayMs: () => 10,
			pauseProbeMs: 100,
		},
		async (m): Promise<HandlerOutcome> => {
			calls.push(m.body.seq as number);
			if (broken) return outcomeOfRun(run);
			done.push(m.body.seq as number);
			return { ok: true };
		},
	);
	await until(() => calls.length >= 5); // well past its 2 attempts: held, not dead-lettered
	expect(new Set(calls)).toEqual(new Set([0]));
	broken = false;
	await until(() => done.length === 3);
	await consumer.stop();
	expect(done).toEqual([0, 1, 2]);
	expect(await drainQueue(broker, t.deadLetterQueue, 5, 500)).toEqual([]);
});

it('while paused the queue asks the failed service with a cheap probe, and runs the held message again only once it answers', async () => {
	const t = await queueWith('probe', [{ seq: 0 }, { seq: 1 }]);
	let down = true;
	const handled: number[] = [];
	const probes: Array<{ messageId?: string; service?: string }> = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			maxAttempts: 2,
			retryDelayMs: () => 10,
			pauseProbeMs: 80,
			probe: async (m, failure) => {
				probes.push({ messageId: m.messageId, service: failure.service });
				return down
					? {
							ok: false,
							failure: { kind: 'lasting', reason: 'still refused', service: 'pipedrive' },
						}
					: { ok: true };
			},
		},
		async (m): Promise<HandlerOutcome> => {
			handled.push(m.body.seq as number);
			return down
				? { ok: false, failure: { kind: 'lasting', reason: 'refused (401)', service: 'pipedrive' } }
				: { ok: true };
		},
	);
	await until(() => probes.length >= 4);
	// The message ran once; since then only probes (no message data) went out.
	expect(handled).toEqual([0]);
	expect(probes[0]).toEqual({ messageId: 'm0', service: 'pipedrive' });
	down = false;
	await until(() => handled.includes(1));
	await consumer.stop();
	expect(handled).toEqual([0, 0, 1]);
});

it('a failure made as poison goes to the dead-letter queue at once, with its reason', async () => {
	const t = await queueWith('poison-kind', [{ seq: 0 }, { seq: 1 }]);
	const seen: number[] = [];
	const deadLettered: Array<{ messageId?: string; reason: string }> = [];
	const consumer = runConsumer(
		connect,
		{
			queue: t.queue,
			deadLetterQueue: t.deadLetterQueue,
			maxAttempts: 5,
			retryDelayMs: () => 10,
			onDeadLetter: (d) => deadLettered.push(d),
		},
		async (m): Promise<HandlerOutcome> => {
			seen.push(m.body.seq as number);
			return m.body.seq === 0
				? { ok: false, failure: { kind: 'poison', reason: 'not a checkout message' } }
				: { ok: true };
		},
	);
	await until(() => seen.includes(1));
	await consumer.stop();
	expect(seen).toEqual([0, 1]);
	expect(deadLettered).toEqual([
		{ messageId: 'm0', reason: 'poison message: not a checkout message' },
	]);
	const dead = await drainQueue(broker, t.deadLetterQueue, 5, 1000);
	expect(dead.map((d) => d.messageId)).toEqual(['m0']);
	expect(dead[0].headers['x-dead-letter-reason']).toBe('poison message: not a checkout message');
});

it("drops a message whose id it acked a moment ago (a relay retry's duplicate), but runs a replay again", async () => {
	const t = uniqueTopology('dedupe');
	topologies.push(t);
	await declareTopology(broker, t);
	await publishConfirmed(broker, t, [
		{ body: { seq: 0 }, messageId: 'evt_dup' },
		{ body: { seq: 0 }, messageId: 'evt_dup' },
		{ body: { seq: 1 }, messageId: 'evt_other' },
		{
			body: { seq: 0 },
			messageId: 'evt_dup',
			headers: { 'x-replayed-at': new Date().toISOString() },
		},
	]);
	const seen: string[] = [];
	const consumer = runConsumer(
		connect,
		{ queue: t.queue, maxAttempts: 3, retryDelayMs: () => 10 },
		async (m) => {
			seen.push(String(m.messageId));
			return { ok: true };
		},
	);
	await until(() => seen.length === 3);
	await new Promise((r) => setTimeout(r, 300));
	await consumer.stop();
	expect(seen).toEqual(['evt_dup', 'evt_other', 'evt_dup']);
	expect(await drainQueue(broker, t.queue, 10, 300)).toEqual([]);
});

describe('one stuck lead holds only itself', () => {
	it("a lead's failing message waits for its retry without holding other leads; its own later messages wait behind it, in order", async () => {
		const bodies = [
			{ leadRef: 'L1', n: 1 },
			{ leadRef: 'L2', n: 1 },
			{ leadRef: 'L1', n: 2 },
			{ leadRef: 'L3', n: 1 },
			{ leadRef: 'L2', n: 2 },
			{ leadRef: 'L1', n: 3 },
			{ leadRef: 'L3', n: 2 },
		];
		const t = await queueWith('stuck-lead', bodies);
		const started = Date.now();
		const done: Array<{ lead: string; n: number; at: number }> = [];
		let inFlight = 0;
		let maxInFlight = 0;
		let l1Failures = 0;
		const consumer = runConsumer(
			connect,
			{
				queue: t.queue,
				deadLetterQueue: t.deadLetterQueue,
				maxAttempts: 5,
				retryDelayMs: () => 700,
				keyOf: partitionKeyOf,
				window: 16,
			},
			async (m): Promise<HandlerOutcome> => {
				inFlight++;
				maxInFlight = Math.max(maxInFlight, inFlight);
				await new Promise((r) => setTimeout(r, 10));
				inFlight--;
				const { leadRef, n } = m.body as { leadRef: string; n: number };
				// L1's first message fails twice (a Pipedrive 5xx on its deal), then goes through.
				if (leadRef === 'L1' && n === 1 && l1Failures < 2) {
					l1Failures++;
					return {
						ok: false,
						failure: { kind: 'retryable', reason: 'Pipedrive answered 502 5 times' },
					};
				}
				done.push({ lead: leadRef, n, at: Date.now() - started });
				return { ok: true };
			},
		);
		await until(() => done.length === bodies.length, 30_000);
		await consumer.stop();
		expect(maxInFlight).toBe(1);
		// Each lead in its own order.
		for (const lead of ['L1', 'L2', 'L3'])
			expect(done.filter((d) => d.lead === lead).map((d) => d.n)).toEqual(
				bodies.filter((b) => b.leadRef === lead).map((b) => b.n),
			);
		// The others did not wait for L1's retries (1.4 s of backoff): all done before L1's first went through.
		const l1First = done.find((d) => d.lead === 'L1' && d.n === 1)!.at;
		const others = done.filter((d) => d.lead !== 'L1');
		expect(others).toHaveLength(4);
		expect(Math.max(...others.map((d) => d.at))).toBeLessThan(l1First);
		expect(Math.max(...others.map((d) => d.at))).toBeLessThan(1000);
		expect(await drainQueue(broker, t.deadLetterQueue, 5, 300)).toEqual([]);
	});

	it("a claim the gateway keeps answering 404 for goes to the dead-letter queue with that reason after its attempts; its lead's next message then runs, other leads never waited", async () => {
		const t = await queueWith('stuck-claim', [
			{ leadRef: 'Lmp', n: 1, unknownPayment: true },
			{ leadRef: 'Lok', n: 1 },
			{ leadRef: 'Lmp', n: 2 },
			{ leadRef: 'Lok', n: 2 },
		]);
		const done: string[] = [];
		const consumer = runConsumer(
			connect,
			{
				queue: t.queue,
				deadLetterQueue: t.deadLetterQueue,
				maxAttempts: 3,
				retryDelayMs: (n) => 150 * n,
				keyOf: partitionKeyOf,
				window: 16,
			},
			async (m): Promise<HandlerOutcome> => {
				const { leadRef, n, unknownPayment } = m.body as {
					leadRef: string;
					n: number;
					unknownPayment?: boolean;
				};
				if (unknownPayment)
					return {
						ok: false,
						failure: {
							kind: 'retryable',
							reason:
								'mercadopago GET /v1/payments/77 failed (HTTP 404): The resource you are requesting could not be found',
						},
					};
				done.push(`${leadRef}/${n}`);
				return { ok: true };
			},
		);
		await until(() => done.length === 3, 20_000);
		await consumer.stop();
		expect(done).toEqual(['Lok/1', 'Lok/2', 'Lmp/2']);
		const dead = await drainQueue(broker, t.deadLetterQueue, 5, 1000);
		expect(dead.map((d) => d.messageId)).toEqual(['m0']);
		expect(dead[0].headers['x-dead-letter-reason']).toBe(
			'failed on 3 deliveries; last error: mercadopago GET /v1/payments/77 failed (HTTP 404): The resource you are requesting could not be found',
		);
	});

	it("attempts are counted by the consumer, not read from the broker's x-delivery-count (whose counting changed in RabbitMQ 4.3)", async () => {
		const t = uniqueTopology('own-count');
		topologies.push(t);
		await declareTopology(broker, t);
		// A header no broker of ours would trust: a consumer that counted from it would dead-letter at once.
		await publishConfirmed(broker, t, [
			{ body: { leadRef: 'L' }, messageId: 'counted', headers: { 'x-delivery-count': 7 } },
		]);
		const handlings: number[] = [];
		const consumer = runConsumer(
			connect,
			{
				queue: t.queue,
				deadLetterQueue: t.deadLetterQueue,
				maxAttempts: 3,
				retryDelayMs: () => 20,
				keyOf: partitionKeyOf,
				window: 8,
			},
			async (m): Promise<HandlerOutcome> => {
				handlings.push(m.deliveryCount);
				return { ok: false, failure: { kind: 'retryable', reason: 'still failing' } };
			},
		);
		const dead = await waitFor(
			'the dead letter',
			async () => {
				const got = await drainQueue(broker, t.deadLetterQueue, 5, 200);
				return got.length ? got : undefined;
			},
			{ timeoutMs: 20_000 },
		);
		await consumer.stop();
		expect(handlings).toEqual([0, 1, 2]);
		expect(dead[0].headers['x-dead-letter-reason']).toBe(
			'failed on 3 deliveries; last error: still failing',
		);
	});
});

describe('re-drive dead letters', () => {
	it('moves dead-lettered messages back (by id, then all), renewed: without the death records, handled by the consumer once the cause is fixed', async () => {
		const t = uniqueTopology('redrive');
		topologies.push(t);
		await declareTopology(broker, t);
		await publishConfirmed(
			broker,
			t,
			[0, 1, 2].map((i) => ({ body: { seq: i }, messageId: `d${i}` })),
		);
		// They fail for good (a bad token then, say): one attempt each, straight to the dead-letter queue.
		const failing = runConsumer(
			connect,
			{ queue: t.queue, maxAttempts: 1, retryDelayMs: () => 10 },
			async (): Promise<HandlerOutcome> => ({
				ok: false,
				failure: { kind: 'retryable', reason: 'Pipedrive answered 500 5 times' },
			}),
		);
		const deadLetters = async () => {
			const channel = await broker.createChannel();
			try {
				return (await channel.checkQueue(t.deadLetterQueue)).messageCount;
			} finally {
				await channel.close();
			}
		};
		await waitFor(
			'three dead letters',
			async () => ((await deadLetters()) === 3 ? true : undefined),
			{ timeoutMs: 20_000 },
		);
		await failing.stop();

		const connection = await connect();
		const one = await redriveDeadLetters(connection, t, {
			messageIds: ['d1', 'missing'],
			max: 100,
			idleMs: 500,
		});
		expect(one).toMatchObject({ moved: 1, movedIds: ['d1'], kept: 2, notFound: ['missing'] });
		const moved = await drainQueue(broker, t.queue, 10, 500);
		expect(moved.map((m) => m.messageId)).toEqual(['d1']);
		expect(moved[0].headers['x-death']).toBeUndefined();
		expect(moved[0].headers['x-redriven-at']).toEqual(expect.any(String));
		expect(JSON.parse(moved[0].content.toString())).toEqual({ seq: 1 });

		const rest = await redriveDeadLetters(connection, t, { max: 100, idleMs: 500 });
		await connection.close();
		expect(rest).toMatchObject({ moved: 2, kept: 0 });
		const seen: string[] = [];
		const healthy = runConsumer(
			connect,
			{ queue: t.queue, maxAttempts: 3, retryDelayMs: () => 10 },
			async (m) => {
				seen.push(String(m.messageId));
				return { ok: true };
			},
		);
		await until(() => seen.length === 2);
		await healthy.stop();
		expect(seen.sort()).toEqual(['d0', 'd2']);
		expect(await drainQueue(broker, t.deadLetterQueue, 10, 300)).toEqual([]);
	});
});
