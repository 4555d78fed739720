/**
 * Every operation of the pack's regular nodes, run through the node class's own `execute` with a small
 * fake of n8n's execute context (./nodeContext), against the real services of the test bench: s3rver,
 * the machine's RabbitMQ, the Pipedrive stand-in and the gateway stand-ins. No mocks of the pack's I/O.
 * Each test also checks the node contract: output items are paired with the input item they came from,
 * and with "continue on fail" a failing item becomes `{ json: { error } }` instead of failing the run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { LeadRegistry } from '../../lib/archive/leadRegistry';

import type { ChannelModel } from 'amqplib';
import {
	NodeApiError,
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IDataObject,
	type ILoadOptionsFunctions,
	type INodeProperties,
	type INodeExecutionData,
	type INodeType,
} from 'n8n-workflow';

import { S3Archive } from '../../lib/archive/archive';
import { createS3Client } from '../../lib/s3/client';
import { CheckoutForm } from '../../nodes/CheckoutForm/CheckoutForm.node';
import { PaymentGateway } from '../../nodes/PaymentGateway/PaymentGateway.node';
import { PipedriveFollowUp } from '../../nodes/PipedriveFollowUp/PipedriveFollowUp.node';
import { WebhookArchive } from '../../nodes/WebhookArchive/WebhookArchive.node';
import {
	RABBITMQ_URL,
	connectBroker,
	deleteTopology,
	drainQueue,
	uniqueTopology,
} from '../../testbench/rabbitmq';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { startGatewayStandIn, type GatewayStandIn } from '../../testbench/standins/gateways';
import { startPipedriveStandIn, type PipedriveStandIn } from '../../testbench/standins/pipedrive';
import {
	binaryOfBuffer,
	executeContext,
	pairedIndices,
	type ExecuteContextOptions,
	type FakeExecuteContext,
} from './nodeContext';

import { GATEWAY_KEYS } from '../../testbench/credentials';
import { REPO_ROOT } from '../../testbench/n8n';

jest.setTimeout(180_000);

const LINKS = {
	secret: 'in-process-test-links-secret-0123456789',
	payUrl: 'https://shop.example/webhook/checkout/pay',
	validDays: 7,
};

const RUN = randomBytes(4).toString('hex');
const BUCKET = `cr-nodes-${RUN}`;

const archiveNode = new WebhookArchive();
const gatewayNode = new PaymentGateway();
const pipedriveNode = new PipedriveFollowUp();
const formNode = new CheckoutForm();

let s3: S3Server;
let gateways: GatewayStandIn;
let pd: PipedriveStandIn;
let broker: ChannelModel;
const topologies: Array<ReturnType<typeof uniqueTopology>> = [];
const standIns: PipedriveStandIn[] = [];
const s3Clients: Array<ReturnType<typeof createS3Client>> = [];

beforeAll(async () => {
	[s3, gateways, pd, broker] = await Promise.all([
		startS3Server(),
		startGatewayStandIn({
			stripe: GATEWAY_KEYS.stripe,
			mercadopago: GATEWAY_KEYS.mercadopago,
			asaas: GATEWAY_KEYS.asaas,
		}),
		startPipedriveStandIn(),
		connectBroker(),
	]);
	await s3.createBucket(BUCKET);
});

afterAll(async () => {
	for (const t of topologies) await deleteTopology(broker, t).catch(() => undefined);
	await broker?.close().catch(() => undefined);
	for (const client of s3Clients) client.destroy();
	await Promise.all([
		s3?.destroy(),
		gateways?.close(),
		pd?.close(),
		...standIns.map(async (p) => p.close()),
	]);
});

// ---- helpers ----

type Outputs = INodeExecutionData[][];

async function execute(
	node: INodeType,
	options: Omit<ExecuteContextOptions, 'node'>,
): Promise<{ outputs: Outputs; ctx: FakeExecuteContext }> {
	if (!node.execute) throw new Error(`${node.description.displayName} has no execute method`);
	const ctx = executeContext({ node, ...options });
	const outputs = await node.execute.call(ctx);
	if (!Array.isArray(outputs))
		throw new Error(
			`${node.description.displayName} returned ${String(outputs)} instead of its outputs`,
		);
	return { outputs, ctx };
}

/** The items of the one output of a single-output operation. */
async function run(
	node: INodeType,
	options: Omit<ExecuteContextOptions, 'node'>,
): Promise<INodeExecutionData[]> {
	const { outputs } = await execute(node, options);
	expect(outputs).toHaveLength(1);
	return outputs[0];
}

function expectErrorItem(
	item: INodeExecutionData | undefined,
	itemIndex: number,
	message: RegExp,
): void {
	expect(item?.json).toEqual({ error: expect.stringMatching(message) });
	expect(pairedIndices(item!)).toEqual([itemIndex]);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const hmacHex = (secret: string, data: string) =>
	createHmac('sha256', secret).update(data).digest('hex');
const json = (value: unknown) => ({ json: value as IDataObject });
const sleep = async (ms: number) => await new Promise((resolve) => setTimeout(resolve, ms));

let prefixes = 0;
const newPrefix = (label: string) => `t-${RUN}-${label}-${++prefixes}`;

function s3Credentials(bucket = BUCKET): Record<string, ICredentialDataDecryptedObject> {
	const settings = s3.settings(bucket);
	return {
		checkoutS3Api: {
			endpoint: settings.endpoint ?? '',
			region: settings.region,
			accessKeyId: settings.accessKeyId,
			secretAccessKey: settings.secretAccessKey,
			bucket,
			forcePathStyle: true,
			serverSideEncryption: 'none',
		},
	};
}
const rabbitCredentials = (): Record<string, ICredentialDataDecryptedObject> => ({
	checkoutRabbitMqApi: { connectWith: 'url', url: RABBITMQ_URL },
});
const linksCredentials = (): Record<string, ICredentialDataDecryptedObject> => ({
	checkoutLinksApi: { ...LINKS },
});

function newTopology(label: string): ReturnType<typeof uniqueTopology> {
	const t = uniqueTopology(label);
	topologies.push(t);
	return t;
}
const topologyParameters = (t: ReturnType<typeof uniqueTopology>) => ({
	exchange: t.exchange,
	routingKey: t.routingKey,
	declareTopology: true,
	queue: t.queue,
	deadLetterExchange: t.deadLetterExchange,
	deadLetterQueue: t.deadLetterQueue,
	deliveryLimit: t.deliveryLimit,
});

/** The archive under a prefix, read directly (for what the nodes' outputs do not show). */
function archiveAt(prefix: string): S3Archive {
	const client = createS3Client(s3.settings(BUCKET));
	s3Clients.push(client);
	return new S3Archive(client, { bucket: BUCKET, prefix });
}

/** Stores events one per item (as the intake does), returning the Store outputs in order. */
async function storeEvents(prefix: string, ids: string[]): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	for (const [n, id] of ids.entries()) {
		const [stored] = await run(archiveNode, {
			parameters: { operation: 'store', prefix, dataFrom: 'json', source: 'test', eventId: id },
			items: [json({ n, eventId: id })],
			credentials: s3Credentials(),
		});
		out.push(stored);
	}
	return out;
}

async function list(
	prefix: string,
	state: 'pending' | 'relayed',
	extra: IDataObject = {},
): Promise<INodeExecutionData[]> {
	return await run(archiveNode, {
		parameters: { operation: 'list', prefix, state, ...extra },
		credentials: s3Credentials(),
	});
}

async function relay(
	prefix: string,
	t: ReturnType<typeof uniqueTopology>,
): Promise<INodeExecutionData[]> {
	return await run(archiveNode, {
		parameters: { operation: 'relay', prefix, ...topologyParameters(t) },
		credentials: { ...s3Credentials(), ...rabbitCredentials() },
	});
}

// =====================================================================================================
describe('Webhook Archive', () => {
	it('store (binary): the raw body byte for byte with only the headers asked for; get by key reads it back; the same event ID again is a duplicate', async () => {
		const prefix = newPrefix('bin');
		const raw = Buffer.from('{"id":"evt_bin",  "amount":19790 }\n');
		const item: INodeExecutionData = {
			json: {
				headers: {
					'stripe-signature': 't=1,v1=abc',
					'x-request-id': 'req-1',
					cookie: 'session=secret',
				},
			},
			binary: { data: binaryOfBuffer(raw, 'application/json') },
		};
		const parameters = {
			operation: 'store',
			prefix,
			source: 'stripe',
			eventId: 'evt_bin_1',
			headersToKeep: 'Stripe-Signature, x-request-id',
		};
		const [stored] = await run(archiveNode, {
			parameters,
			items: [item],
			credentials: s3Credentials(),
		});
		expect(stored.json).toMatchObject({
			eventId: 'evt_bin_1',
			source: 'stripe',
			bodyFormat: 'json',
			bytes: raw.length,
			sha256: sha256(raw),
			duplicate: false,
		});
		expect(String(stored.json.key)).toMatch(
			new RegExp(
				`^${prefix}/pending/\\d{4}/\\d{2}/\\d{2}/\\d{2}/\\d{13}\\.[0-9a-z]+-evt_bin_1\\.json$`,
			),
		);
		expect(pairedIndices(stored)).toEqual([0]);

		const [got] = await run(archiveNode, {
			parameters: { operation: 'get', prefix, lookUpBy: 'key', key: String(stored.json.key) },
			credentials: s3Credentials(),
		});
		expect(Buffer.from(got.binary!.data.data, 'base64')).toEqual(raw);
		expect(got.binary!.data).toMatchObject({
			mimeType: 'application/json',
			fileName: String(stored.json.key).split('/').pop(),
		});
		expect(got.json).toMatchObject({
			key: stored.json.key,
			eventId: 'evt_bin_1',
			source: 'stripe',
			contentType: 'application/json',
			bytes: raw.length,
			body: { id: 'evt_bin', amount: 19790 },
		});
		expect({ ...(got.json.headers as IDataObject) }).toEqual({
			'stripe-signature': 't=1,v1=abc',
			'x-request-id': 'req-1',
		});

		const [again] = await run(archiveNode, {
			parameters,
			items: [item],
			credentials: s3Credentials(),
		});
		expect(again.json).toMatchObject({
			duplicate: true,
			key: stored.json.key,
			eventId: 'evt_bin_1',
		});
		expect(await list(prefix, 'pending')).toHaveLength(1);
	});

	it('store (json, field): the item JSON or one field of it; a missing field fails its item (an error item with continue on fail, a NodeOperationError without)', async () => {
		const prefix = newPrefix('fields');
		const lead = {
			eventId: `lead-${RUN}`,
			type: 'lead.captured',
			name: 'Ana Souza',
			amount: 19790,
		};
		const [whole] = await run(archiveNode, {
			parameters: {
				operation: 'store',
				prefix,
				dataFrom: 'json',
				source: 'lead',
				eventId: lead.eventId,
			},
			items: [json(lead)],
			credentials: s3Credentials(),
		});
		expect(whole.json).toMatchObject({
			eventId: lead.eventId,
			bodyFormat: 'json',
			duplicate: false,
		});
		const [readWhole] = await run(archiveNode, {
			parameters: { operation: 'get', prefix, lookUpBy: 'eventId', eventId: lead.eventId },
			credentials: s3Credentials(),
		});
		expect(readWhole.json).toMatchObject({ contentType: 'application/json', body: lead });

		const items = [
			json({ body: { payload: { order: 7 } } }),
			json({ other: true }),
			json({ body: { payload: 'plain text' } }),
		];
		const parameters = {
			operation: 'store',
			prefix,
			dataFrom: 'field',
			field: 'body.payload',
			source: 'shop',
			eventId: (i: number) => `field-${RUN}-${i}`,
		};
		const out = await run(archiveNode, {
			parameters,
			items,
			credentials: s3Credentials(),
			continueOnFail: true,
		});
		expect(out).toHaveLength(3);
		expect(out[0].json).toMatchObject({
			eventId: `field-${RUN}-0`,
			bodyFormat: 'json',
			duplicate: false,
		});
		expect(pairedIndices(out[0])).toEqual([0]);
		expectErrorItem(out[1], 1, /^Field "body\.payload" is missing from item 1$/);
		expect(out[2].json).toMatchObject({
			eventId: `field-${RUN}-2`,
			bodyFormat: 'raw',
			bytes: 'plain text'.length,
		});
		expect(pairedIndices(out[2])).toEqual([2]);
		const [readObject] = await run(archiveNode, {
			parameters: { operation: 'get', prefix, lookUpBy: 'eventId', eventId: `field-${RUN}-0` },
			credentials: s3Credentials(),
		});
		expect(readObject.json.body).toEqual({ order: 7 });
		const [readText] = await run(archiveNode, {
			parameters: { operation: 'get', prefix, lookUpBy: 'eventId', eventId: `field-${RUN}-2` },
			credentials: s3Credentials(),
		});
		expect(Buffer.from(readText.binary!.data.data, 'base64').toString('utf8')).toBe('plain text');

		const failing = run(archiveNode, {
			parameters,
			items: [items[1]],
			credentials: s3Credentials(),
		});
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toThrow('Field "body.payload" is missing from item 0');
	});

	it('get: by key and by event ID (a comma-separated list tries each in turn); an unknown event ID fails its item', async () => {
		const prefix = newPrefix('get');
		const [stored] = await storeEvents(prefix, [`get-${RUN}`]);
		const [byKey] = await run(archiveNode, {
			parameters: { operation: 'get', prefix, key: String(stored.json.key) },
			credentials: s3Credentials(),
		});
		expect(byKey.json).toMatchObject({
			key: stored.json.key,
			eventId: `get-${RUN}`,
			body: { n: 0, eventId: `get-${RUN}` },
		});

		const out = await run(archiveNode, {
			parameters: {
				operation: 'get',
				prefix,
				lookUpBy: 'eventId',
				eventId: (i: number) => (i === 0 ? `missing-${RUN}` : `missing-${RUN}, get-${RUN}`),
			},
			items: [json({}), json({})],
			credentials: s3Credentials(),
			continueOnFail: true,
		});
		expectErrorItem(out[0], 0, new RegExp(`^No archived object for event ID missing-${RUN}$`));
		expect(out[1].json).toMatchObject({ key: stored.json.key, eventId: `get-${RUN}` });
		expect(pairedIndices(out[1])).toEqual([1]);

		await expect(
			run(archiveNode, {
				parameters: { operation: 'get', prefix, lookUpBy: 'eventId', eventId: `missing-${RUN}` },
				credentials: s3Credentials(),
			}),
		).rejects.toBeInstanceOf(NodeOperationError);
	});

	it('list: pending objects in receive order, within From/To and up to Limit; nothing relayed yet', async () => {
		const prefix = newPrefix('list');
		const ids = [`list-a-${RUN}`, `list-b-${RUN}`, `list-c-${RUN}`];
		const stored = await storeEvents(prefix, ids);
		const at = stored.map((s) => String(s.json.receivedAt));

		const all = await list(prefix, 'pending');
		expect(all.map((o) => o.json.key)).toEqual(stored.map((s) => s.json.key));
		expect(all.map((o) => o.json.eventId)).toEqual(ids);
		expect(all[0].json).toMatchObject({ state: 'pending', receivedAt: at[0] });
		expect(all.every((o) => pairedIndices(o).join() === '0')).toBe(true);
		expect((await list(prefix, 'pending', { limit: 2 })).map((o) => o.json.eventId)).toEqual(
			ids.slice(0, 2),
		);
		expect((await list(prefix, 'pending', { from: at[1] })).map((o) => o.json.eventId)).toEqual(
			ids.slice(1),
		);
		expect((await list(prefix, 'pending', { to: at[1] })).map((o) => o.json.eventId)).toEqual(
			ids.slice(0, 2),
		);
		expect(
			(await list(prefix, 'pending', { from: at[1], to: at[1] })).map((o) => o.json.eventId),
		).toEqual([ids[1]]);
		expect(await list(prefix, 'relayed')).toEqual([]);
	});

	it('relay: pending objects reach a RabbitMQ queue in receive order with their event IDs as message IDs, then are listed as relayed', async () => {
		const prefix = newPrefix('relay');
		const t = newTopology('relay');
		const ids = [`relay-1-${RUN}`, `relay-2-${RUN}`, `relay-3-${RUN}`];
		const stored = await storeEvents(prefix, ids);

		const [report] = await relay(prefix, t);
		expect(report.json).toMatchObject({
			published: 3,
			duplicatesSkipped: 0,
			stoppedBy: 'empty',
			firstKey: stored[0].json.key,
			lastKey: stored[2].json.key,
		});
		expect(pairedIndices(report)).toEqual([0]);

		const messages = await drainQueue(broker, t.queue, 3);
		expect(messages.map((m) => m.messageId)).toEqual(ids);
		expect(messages.map((m) => JSON.parse(m.content.toString('utf8')) as IDataObject)).toEqual(
			ids.map((eventId, n) => ({ n, eventId })),
		);
		expect(messages[0].headers).toMatchObject({
			'x-archive-key': stored[0].json.key,
			'x-source': 'test',
			'x-received-at': stored[0].json.receivedAt,
		});
		expect(await drainQueue(broker, t.queue, 1, 300)).toEqual([]);

		expect(await list(prefix, 'pending')).toEqual([]);
		const relayed = await list(prefix, 'relayed');
		expect(relayed.map((o) => o.json.eventId)).toEqual(ids);
		expect(relayed.every((o) => String(o.json.key).startsWith(`${prefix}/relayed/`))).toBe(true);
		const [again] = await relay(prefix, t);
		expect(again.json).toMatchObject({ published: 0, stoppedBy: 'empty' });

		// A broker that refuses the connection: one error item with continue on fail, else the run fails; nothing moves.
		await storeEvents(prefix, [`relay-4-${RUN}`]);
		const unreachable = {
			...s3Credentials(),
			checkoutRabbitMqApi: { connectWith: 'url', url: 'amqp://guest:guest@127.0.0.1:1' },
		};
		const parameters = { operation: 'relay', prefix, ...topologyParameters(t) };
		const [failed] = await run(archiveNode, {
			parameters,
			credentials: unreachable,
			continueOnFail: true,
		});
		expectErrorItem(failed, 0, /Could not connect to RabbitMQ/);
		await expect(run(archiveNode, { parameters, credentials: unreachable })).rejects.toBeInstanceOf(
			NodeOperationError,
		);
		expect((await list(prefix, 'pending')).map((o) => o.json.eventId)).toEqual([`relay-4-${RUN}`]);
	});

	it('relay: a publish the broker refuses (no such exchange) marks nothing relayed; with continue on fail it is one error item n8n routes to the error output', async () => {
		const prefix = newPrefix('refused');
		const ids = [`refused-1-${RUN}`];
		await storeEvents(prefix, ids);
		const parameters = {
			operation: 'relay',
			prefix,
			exchange: `cr-test.no-such-exchange.${RUN}`,
			routingKey: 'checkout.event',
			declareTopology: false,
		};
		const credentials = { ...s3Credentials(), ...rabbitCredentials() };
		await expect(run(archiveNode, { parameters, credentials })).rejects.toThrow(
			/Relay stopped after 0 confirmed messages/,
		);
		const [failed] = await run(archiveNode, { parameters, credentials, continueOnFail: true });
		expect(String(failed.json.error)).toMatch(/Relay stopped after 0 confirmed messages/);
		expect(pairedIndices(failed)).toEqual([0]);
		expect((await list(prefix, 'pending')).map((o) => o.json.eventId)).toEqual(ids);
		// n8n's "continue (using error output)" moves an item to the error output only when its JSON is
		// { error } (or { error, message }); any other key keeps it on the success output.
		expect(Object.keys(failed.json)).toEqual(['error']);
	});

	it('replay: the relayed objects of a time range are published again, in order, marked as replays', async () => {
		const prefix = newPrefix('replay');
		const t = newTopology('replay');
		const ids = [`replay-1-${RUN}`, `replay-2-${RUN}`, `replay-3-${RUN}`];
		const stored = await storeEvents(prefix, ids);
		await relay(prefix, t);
		expect((await drainQueue(broker, t.queue, 3)).map((m) => m.messageId)).toEqual(ids);

		const [report] = await run(archiveNode, {
			parameters: {
				operation: 'replay',
				prefix,
				from: String(stored[1].json.receivedAt),
				to: String(stored[2].json.receivedAt),
				...topologyParameters(t),
			},
			credentials: { ...s3Credentials(), ...rabbitCredentials() },
		});
		expect(report.json).toMatchObject({
			published: 2,
			stoppedBy: 'rangeEnd',
			from: stored[1].json.receivedAt,
			to: stored[2].json.receivedAt,
		});
		expect(pairedIndices(report)).toEqual([0]);
		const replayed = await drainQueue(broker, t.queue, 2);
		expect(replayed.map((m) => m.messageId)).toEqual(ids.slice(1));
		expect(replayed.every((m) => typeof m.headers['x-replayed-at'] === 'string')).toBe(true);
		expect(await drainQueue(broker, t.queue, 1, 300)).toEqual([]);
	});

	it('purge: Older Than 0 days deletes the relayed objects with their ID markers; pending objects stay', async () => {
		const prefix = newPrefix('purge');
		const t = newTopology('purge');
		const relayedIds = [`purge-1-${RUN}`, `purge-2-${RUN}`];
		await storeEvents(prefix, relayedIds);
		await relay(prefix, t);
		await drainQueue(broker, t.queue, 2);
		const [pending] = await storeEvents(prefix, [`purge-pending-${RUN}`]);
		await sleep(20); // receive times run at most a few ms ahead of the clock

		const [report] = await run(archiveNode, {
			parameters: { operation: 'purge', prefix, olderThanDays: 0 },
			credentials: s3Credentials(),
		});
		expect(report.json).toMatchObject({ deleted: 2 });
		expect(Date.parse(String(report.json.before))).toBeLessThanOrEqual(Date.now());
		expect(pairedIndices(report)).toEqual([0]);
		expect(await list(prefix, 'relayed')).toEqual([]);
		expect((await list(prefix, 'pending')).map((o) => o.json.key)).toEqual([pending.json.key]);
		const lookups = await run(archiveNode, {
			parameters: {
				operation: 'get',
				prefix,
				lookUpBy: 'eventId',
				eventId: (i: number) => [relayedIds[0], `purge-pending-${RUN}`][i],
			},
			items: [json({}), json({})],
			credentials: s3Credentials(),
			continueOnFail: true,
		});
		expectErrorItem(lookups[0], 0, /No archived object/);
		expect(lookups[1].json).toMatchObject({ eventId: `purge-pending-${RUN}` });
	});

	it("redrive: dead-lettered messages go back to the main queue (by message ID, then all), without the broker's death headers; no S3 credential needed", async () => {
		const t = newTopology('redrive');
		const redrive = async (extra: IDataObject) =>
			await run(archiveNode, {
				parameters: { operation: 'redrive', ...topologyParameters(t), ...extra },
				credentials: rabbitCredentials(),
			});
		const [empty] = await redrive({}); // declares the topology
		expect(empty.json).toMatchObject({
			moved: 0,
			movedIds: [],
			deadLetterQueue: t.deadLetterQueue,
			queue: t.queue,
		});

		const channel = await broker.createConfirmChannel();
		for (const id of ['dl-a', 'dl-b']) {
			channel.sendToQueue(t.deadLetterQueue, Buffer.from(JSON.stringify({ id })), {
				persistent: true,
				messageId: id,
				contentType: 'application/json',
				headers: { 'x-source': 'stripe', 'x-dead-letter-reason': 'Pipedrive answered 401' },
			});
		}
		await channel.waitForConfirms();
		await channel.close();

		const [byId] = await redrive({ redriveWhich: 'byId', messageIds: 'dl-b, dl-missing' });
		expect(byId.json).toMatchObject({
			moved: 1,
			movedIds: ['dl-b'],
			kept: 1,
			notFound: ['dl-missing'],
		});
		expect(pairedIndices(byId)).toEqual([0]);
		const [moved] = await drainQueue(broker, t.queue, 1);
		expect(moved.messageId).toBe('dl-b');
		expect(JSON.parse(moved.content.toString('utf8'))).toEqual({ id: 'dl-b' });
		expect(moved.headers['x-source']).toBe('stripe');
		expect(typeof moved.headers['x-redriven-at']).toBe('string');
		expect(moved.headers['x-dead-letter-reason']).toBeUndefined();

		const [all] = await redrive({ redriveWhich: 'all' });
		expect(all.json).toMatchObject({ moved: 1, movedIds: ['dl-a'], kept: 0 });
		expect((await drainQueue(broker, t.queue, 1)).map((m) => m.messageId)).toEqual(['dl-a']);
		expect(await drainQueue(broker, t.deadLetterQueue, 1, 300)).toEqual([]);

		await expect(redrive({ redriveWhich: 'byId', messageIds: ' , ' })).rejects.toThrow(
			/at least one message ID/,
		);
	});

	it("closeLinks: a paid event closes its lead's links; a claim still to be confirmed and an unpaid event close nothing; items pass unchanged", async () => {
		const prefix = newPrefix('close');
		const [paid, claim, failed] = [randomUUID(), randomUUID(), randomUUID()];
		const occurredAt = new Date().toISOString();
		const items = [
			json({
				eventId: `evt-paid-${RUN}`,
				type: 'paid',
				leadRef: paid,
				provider: 'stripe',
				occurredAt,
			}),
			json({
				eventId: `evt-claim-${RUN}`,
				type: 'paid',
				leadRef: claim,
				provider: 'mercadopago',
				occurredAt,
				confirm: { paymentId: '123' },
			}),
			json({
				eventId: `evt-failed-${RUN}`,
				type: 'failed',
				leadRef: failed,
				provider: 'stripe',
				occurredAt,
			}),
		];
		const out = await run(archiveNode, {
			parameters: { operation: 'closeLinks', prefix },
			items,
			credentials: s3Credentials(),
		});
		expect(out.map((o) => o.json)).toEqual(items.map((i) => i.json));
		expect(out.map((o) => pairedIndices(o))).toEqual([[0], [1], [2]]);
		const archive = archiveAt(prefix);
		expect(await new LeadRegistry(archive).isLeadClosed(paid)).toBe(true);
		expect(await new LeadRegistry(archive).isLeadClosed(claim)).toBe(false);
		expect(await new LeadRegistry(archive).isLeadClosed(failed)).toBe(false);

		const withBadEvent = await run(archiveNode, {
			parameters: {
				operation: 'closeLinks',
				prefix,
				event: (i: number) => (i === 1 ? '{not json' : items[i].json),
			},
			items: items.slice(0, 2),
			credentials: s3Credentials(),
			continueOnFail: true,
		});
		expect(withBadEvent[0].json).toEqual(items[0].json);
		expectErrorItem(withBadEvent[1], 1, /JSON/);
	});
});

// =====================================================================================================
describe('Payment Gateway', () => {
	const gatewayCredentials = (
		provider: 'stripe' | 'mercadopago' | 'asaas',
	): Record<string, ICredentialDataDecryptedObject> => {
		const base = gateways.baseUrl;
		if (provider === 'stripe')
			return { checkoutStripeApi: { ...GATEWAY_KEYS.stripe, baseUrl: base } };
		if (provider === 'mercadopago')
			return {
				checkoutMercadoPagoApi: { ...GATEWAY_KEYS.mercadopago, sandbox: false, baseUrl: base },
			};
		return { checkoutAsaasApi: { ...GATEWAY_KEYS.asaas, baseUrl: base, checkoutPageUrl: base } };
	};
	const buyer = (leadId: string, extra: IDataObject = {}) =>
		json({
			leadId,
			name: 'João Conceição',
			email: 'joao@example.com',
			phone: '+5511987654321',
			document: '529.982.247-25',
			product: 'Curso de Fotografia',
			amount: '197,90',
			...extra,
		});
	const linkParameters = {
		operation: 'createPaymentLink',
		successUrl: 'https://shop.example/obrigado',
		cancelUrl: 'https://shop.example/checkout',
	};
	const createLink = async (provider: 'stripe' | 'mercadopago' | 'asaas', leadId: string) =>
		(
			await run(gatewayNode, {
				parameters: { provider, ...linkParameters },
				items: [buyer(leadId)],
				credentials: gatewayCredentials(provider),
			})
		)[0];
	const stripeSignature = (payload: string, secret: string, ts = Math.floor(Date.now() / 1000)) =>
		`t=${ts},v1=${hmacHex(secret, `${ts}.${payload}`)}`;

	it("createPaymentLink (Mercado Pago): notifications go to n8n's public webhook address by default; a loopback address is refused for a gateway off this machine", async () => {
		const leadId = randomUUID();
		const [link] = (
			await execute(gatewayNode, {
				parameters: { provider: 'mercadopago', ...linkParameters },
				items: [buyer(leadId)],
				credentials: gatewayCredentials('mercadopago'),
				restApiUrl: 'https://n8n.shop.example/rest',
			})
		).outputs[0];
		expect(gateways.checkouts.get(String(link.json.providerId))?.notificationUrl).toBe(
			`https://n8n.shop.example/webhook/checkout/fast/mercadopago?lead=${leadId}`,
		);
		// n8n left at its localhost default, with the real Mercado Pago: no request, the item fails saying why.
		const sent = gateways.checkouts.size;
		const { outputs } = await execute(gatewayNode, {
			parameters: { provider: 'mercadopago', ...linkParameters },
			items: [buyer(randomUUID())],
			credentials: {
				checkoutMercadoPagoApi: {
					...GATEWAY_KEYS.mercadopago,
					sandbox: false,
					baseUrl: 'https://api.mercadopago.com',
				},
			},
			restApiUrl: 'http://localhost:5678/rest',
			continueOnFail: true,
		});
		expect(String(outputs[0][0].json.error)).toMatch(/loopback address.*N8N_WEBHOOK_URL/);
		expect(gateways.checkouts.size).toBe(sent);
	});

	it('createPaymentLink (Stripe checkout session): a session at the stand-in for the buyer, priced in cents; a bad amount fails its item', async () => {
		const leadId = randomUUID();
		const { outputs, ctx } = await execute(gatewayNode, {
			parameters: { provider: 'stripe', ...linkParameters },
			items: [buyer(leadId), buyer(`${leadId}-bad`, { amount: 'grátis' })],
			credentials: gatewayCredentials('stripe'),
			continueOnFail: true,
		});
		expect(outputs).toHaveLength(1);
		const [link, bad] = outputs[0];
		expect(link.json).toMatchObject({
			provider: 'stripe',
			leadRef: leadId,
			amount: 19790,
			currency: 'BRL',
		});
		expect(String(link.json.providerId)).toMatch(/^cs_test_/);
		expect(link.json.redirectUrl).toBe(
			`${gateways.baseUrl}/pay/stripe/${String(link.json.providerId)}`,
		);
		expect(pairedIndices(link)).toEqual([0]);
		expect(gateways.checkouts.get(String(link.json.providerId))).toMatchObject({
			provider: 'stripe',
			leadRef: leadId,
			buyer: { email: 'joao@example.com' },
			items: [{ name: 'Curso de Fotografia', quantity: 1, unitAmount: 19790 }],
			successUrl: 'https://shop.example/obrigado',
		});
		expectErrorItem(bad, 1, /Amount "grátis" is not a price/);
		// One request, authenticated by the credential's own definition (Bearer secret key), form-encoded.
		expect(ctx.requests).toHaveLength(1);
		expect(ctx.requests[0]).toMatchObject({
			method: 'POST',
			url: `${gateways.baseUrl}/v1/checkout/sessions`,
			status: 200,
		});
		expect(ctx.requests[0].headers).toMatchObject({
			Authorization: `Bearer ${GATEWAY_KEYS.stripe.secretKey}`,
			'content-type': 'application/x-www-form-urlencoded',
		});
		expect(new URLSearchParams(ctx.requests[0].body).get('client_reference_id')).toBe(leadId);

		// The same request again (a double click) is the same session.
		expect((await createLink('stripe', leadId)).json.providerId).toBe(link.json.providerId);
		await expect(
			run(gatewayNode, {
				parameters: { provider: 'stripe', ...linkParameters },
				items: [buyer(leadId, { amount: 'grátis' })],
				credentials: gatewayCredentials('stripe'),
			}),
		).rejects.toBeInstanceOf(NodeOperationError);
	});

	it("createPaymentLink (Stripe static link): the buyer's e-mail and our reference ride in the link, with no API call", async () => {
		const before = gateways.checkouts.size;
		const { outputs, ctx } = await execute(gatewayNode, {
			parameters: {
				provider: 'stripe',
				...linkParameters,
				stripeMode: 'staticLink',
				paymentLinkUrl: 'https://buy.stripe.com/test_14k8yy',
			},
			items: [buyer('lead-static-1')],
			credentials: gatewayCredentials('stripe'),
		});
		expect(outputs[0]).toEqual([
			{
				json: {
					provider: 'stripe',
					providerId: '',
					redirectUrl:
						'https://buy.stripe.com/test_14k8yy?prefilled_email=joao%40example.com&client_reference_id=lead-static-1',
					leadRef: 'lead-static-1',
				},
				pairedItem: { item: 0 },
			},
		]);
		expect(ctx.requests).toEqual([]);
		expect(gateways.checkouts.size).toBe(before);
	});

	it('createPaymentLink (Mercado Pago, Asaas) and getPayment: the status read back by provider ID and by lead reference; an unknown session fails its item', async () => {
		const stripeLead = randomUUID();
		const session = await createLink('stripe', stripeLead);
		const getPayment = async (
			provider: 'stripe' | 'mercadopago' | 'asaas',
			lookUpBy: string,
			lookUpValue: string | ((i: number) => string),
			items?: INodeExecutionData[],
			continueOnFail = false,
		) =>
			await run(gatewayNode, {
				parameters: { provider, operation: 'getPayment', lookUpBy, lookUpValue },
				items,
				credentials: gatewayCredentials(provider),
				continueOnFail,
			});
		const [open] = await getPayment('stripe', 'providerId', String(session.json.providerId));
		expect(open.json).toMatchObject({
			provider: 'stripe',
			status: 'pending',
			providerStatus: 'open/unpaid',
			leadRef: stripeLead,
			amount: 19790,
			currency: 'BRL',
		});
		await gateways.act('stripe', String(session.json.providerId), 'pay');
		const [paid] = await getPayment('stripe', 'providerId', String(session.json.providerId));
		expect(paid.json).toMatchObject({ status: 'paid', providerStatus: 'complete/paid' });

		const mpLead = randomUUID();
		const preference = await createLink('mercadopago', mpLead);
		expect(preference.json).toMatchObject({
			provider: 'mercadopago',
			leadRef: mpLead,
			amount: 19790,
		});
		expect(gateways.checkouts.get(String(preference.json.providerId))).toMatchObject({
			buyer: { name: 'João Conceição', email: 'joao@example.com', document: '52998224725' },
		});
		await gateways.act('mercadopago', String(preference.json.providerId), 'pay');
		const [mpPaid] = await getPayment('mercadopago', 'leadRef', mpLead);
		expect(mpPaid.json).toMatchObject({
			provider: 'mercadopago',
			status: 'paid',
			providerStatus: 'approved',
			leadRef: mpLead,
			amount: 19790,
		});

		const asaasLead = randomUUID();
		const checkout = await createLink('asaas', asaasLead);
		expect(checkout.json).toMatchObject({ provider: 'asaas', leadRef: asaasLead, amount: 19790 });
		expect(checkout.json.redirectUrl).toBe(
			`${gateways.baseUrl}/checkoutSession/show?id=${String(checkout.json.providerId)}`,
		);
		await gateways.act('asaas', String(checkout.json.providerId), 'pay');
		const [asaasPaid] = await getPayment('asaas', 'leadRef', asaasLead);
		expect(asaasPaid.json).toMatchObject({
			provider: 'asaas',
			status: 'paid',
			leadRef: asaasLead,
			amount: 19790,
		});

		const both = await getPayment(
			'stripe',
			'providerId',
			(i) => (i === 0 ? 'cs_test_unknown' : String(session.json.providerId)),
			[json({}), json({})],
			true,
		);
		expectErrorItem(both[0], 0, /HTTP 404/);
		expect(both[1].json).toMatchObject({ status: 'paid' });
		expect(pairedIndices(both[1])).toEqual([1]);
		const unknown = getPayment('stripe', 'providerId', 'cs_test_unknown');
		await expect(unknown).rejects.toBeInstanceOf(NodeApiError);
		await expect(unknown).rejects.toMatchObject({ httpCode: '404' });
		await expect(unknown).rejects.toThrow(
			/^stripe GET \/v1\/checkout\/sessions\/cs_test_unknown failed \(HTTP 404\)/,
		);
	});

	it('verifyWebhook (Stripe): a correctly signed event goes to output 0, normalised; a forged one and one without a raw body to output 1 with a reason and no event', async () => {
		const leadId = randomUUID();
		const event = JSON.stringify({
			id: `evt_${RUN}`,
			object: 'event',
			type: 'checkout.session.completed',
			created: Math.floor(Date.now() / 1000),
			data: {
				object: {
					id: 'cs_test_verify',
					object: 'checkout.session',
					client_reference_id: leadId,
					amount_total: 19790,
					currency: 'brl',
					payment_status: 'paid',
					status: 'complete',
				},
			},
		});
		const body = binaryOfBuffer(Buffer.from(event), 'application/json');
		const items: INodeExecutionData[] = [
			{
				json: {
					headers: {
						'stripe-signature': stripeSignature(event, GATEWAY_KEYS.stripe.webhookSecret),
					},
				},
				binary: { data: body },
			},
			{
				json: { headers: { 'stripe-signature': stripeSignature(event, 'whsec_forged') } },
				binary: { data: body },
			},
			{
				json: {
					headers: {
						'stripe-signature': stripeSignature(event, GATEWAY_KEYS.stripe.webhookSecret),
					},
				},
			},
		];
		const { outputs } = await execute(gatewayNode, {
			parameters: { provider: 'stripe', operation: 'verifyWebhook' },
			items,
			credentials: gatewayCredentials('stripe'),
		});
		expect(outputs).toHaveLength(2);
		const [verified, rejected] = outputs;
		expect(verified).toHaveLength(1);
		expect(verified[0].json).toMatchObject({
			eventId: `evt_${RUN}`,
			type: 'paid',
			leadRef: leadId,
			providerRef: 'cs_test_verify',
			amount: 19790,
			currency: 'BRL',
			provider: 'stripe',
			providerEventType: 'checkout.session.completed',
		});
		expect(verified[0].json.confirm).toBeUndefined();
		expect(verified[0].binary?.data).toEqual(body);
		expect(pairedIndices(verified[0])).toEqual([0]);
		expect(rejected.map((r) => r.json)).toEqual([
			{
				verified: false,
				provider: 'stripe',
				reason: expect.stringMatching(/no v1 signature matches/),
			},
			{
				verified: false,
				provider: 'stripe',
				reason: expect.stringMatching(/no raw body in binary property "data"/),
			},
		]);
		expect(rejected.map((r) => pairedIndices(r))).toEqual([[1], [2]]);
		expect(rejected.every((r) => r.binary === undefined)).toBe(true);
	});

	it("verifyWebhook (Mercado Pago) then confirmEvent: the claim is confirmed from the stand-in's payment; an event without confirm passes unchanged; a non-event fails its item", async () => {
		const leadId = randomUUID();
		const preference = await createLink('mercadopago', leadId);
		await gateways.act('mercadopago', String(preference.json.providerId), 'pay');
		const paymentId = gateways.checkouts.get(String(preference.json.providerId))?.paymentId;
		expect(paymentId).toMatch(/^\d+$/);

		const requestId = randomUUID();
		const ts = String(Date.now());
		const signature = `ts=${ts},v1=${hmacHex(GATEWAY_KEYS.mercadopago.webhookSecret, `id:${paymentId!};request-id:${requestId};ts:${ts};`)}`;
		const notification = JSON.stringify({
			id: 1,
			type: 'payment',
			action: 'payment.updated',
			date_created: new Date().toISOString(),
			data: { id: paymentId },
		});
		const { outputs: verifiedOutputs } = await execute(gatewayNode, {
			parameters: { provider: 'mercadopago', operation: 'verifyWebhook' },
			items: [
				{
					json: {
						headers: { 'x-signature': signature, 'x-request-id': requestId },
						query: { 'data.id': paymentId!, type: 'payment' },
					},
					binary: { data: binaryOfBuffer(Buffer.from(notification), 'application/json') },
				},
			],
			credentials: gatewayCredentials('mercadopago'),
		});
		expect(verifiedOutputs[1]).toEqual([]);
		const [claim] = verifiedOutputs[0];
		expect(claim.json).toMatchObject({
			provider: 'mercadopago',
			type: 'other',
			confirm: { paymentId },
		});

		const unchanged = {
			eventId: `evt_plain_${RUN}`,
			type: 'paid',
			provider: 'stripe',
			leadRef: leadId,
			occurredAt: new Date().toISOString(),
			providerEventType: 'checkout.session.completed',
			raw: {},
		};
		const out = await run(gatewayNode, {
			parameters: { provider: 'mercadopago', operation: 'confirmEvent' },
			items: [json(claim.json), json(unchanged), json({ hello: 'not an event' })],
			credentials: gatewayCredentials('mercadopago'),
			continueOnFail: true,
		});
		expect(out).toHaveLength(3);
		expect(out[0].json).toMatchObject({
			eventId: `mp-${paymentId!}-approved`,
			type: 'paid',
			leadRef: leadId,
			providerRef: paymentId,
			amount: 19790,
			currency: 'BRL',
			provider: 'mercadopago',
		});
		expect(out[0].json.confirm).toBeUndefined();
		expect(typeof out[0].json.confirmedAt).toBe('string');
		expect(out[1].json).toEqual(unchanged);
		expect(out.slice(0, 2).map((o) => pairedIndices(o))).toEqual([[0], [1]]);
		expectErrorItem(out[2], 2, /must be a normalised payment event/);
		await expect(
			run(gatewayNode, {
				parameters: { provider: 'mercadopago', operation: 'confirmEvent' },
				items: [json({ hello: 'not an event' })],
				credentials: gatewayCredentials('mercadopago'),
			}),
		).rejects.toBeInstanceOf(NodeOperationError);
	});
});

// =====================================================================================================
describe('Pipedrive Follow-Up', () => {
	const credentialsOf = (
		standIn: PipedriveStandIn,
	): Record<string, ICredentialDataDecryptedObject> => ({
		checkoutPipedriveApi: { apiToken: standIn.token, companyDomain: '', baseUrl: standIn.baseUrl },
	});
	const lead = (extra: IDataObject = {}) =>
		json({
			leadId: randomUUID(),
			name: 'Ana Souza',
			email: `ana.${randomBytes(3).toString('hex')}@example.com`,
			phone: '+5511987654321',
			product: 'Curso de Fotografia',
			amount: 19790,
			currency: 'BRL',
			...extra,
		});
	const dealsOf = (standIn: PipedriveStandIn, leadId: string) =>
		standIn.state.deals.filter((d) =>
			Object.values((d.custom_fields as IDataObject) ?? {}).includes(leadId),
		);
	async function freshStandIn(): Promise<PipedriveStandIn> {
		const standIn = await startPipedriveStandIn();
		standIns.push(standIn);
		return standIn;
	}

	it("setup: creates the pack's deal fields; a second run creates none", async () => {
		const fresh = await freshStandIn();
		const [first] = await run(pipedriveNode, {
			parameters: { operation: 'setup' },
			credentials: credentialsOf(fresh),
		});
		const fields = first.json.fields as Array<{ name: string; key: string; created: boolean }>;
		expect(fields.length).toBeGreaterThan(0);
		expect(fields.every((f) => f.created)).toBe(true);
		expect(fields.find((f) => f.name === 'Checkout status')).toBeDefined();
		expect(pairedIndices(first)).toEqual([0]);
		const count = fresh.state.dealFields.length;
		expect(count).toBe(2 + fields.length);

		const [second] = await run(pipedriveNode, {
			parameters: { operation: 'setup' },
			credentials: credentialsOf(fresh),
		});
		const again = second.json.fields as Array<{ key: string; created: boolean }>;
		expect(again.map((f) => f.created)).toEqual(fields.map(() => false));
		expect(again.map((f) => f.key)).toEqual(fields.map((f) => f.key));
		expect(fresh.state.dealFields).toHaveLength(count);
	});

	it('upsertLead: a person and a deal; the same lead again keeps its one deal; a lead without an e-mail fails its item', async () => {
		const input = lead();
		const leadId = String(input.json.leadId);
		const [created] = await run(pipedriveNode, {
			parameters: { operation: 'upsertLead' },
			items: [input],
			credentials: credentialsOf(pd),
		});
		expect(created.json).toMatchObject({ leadId, personCreated: true, dealCreated: true });
		expect(pairedIndices(created)).toEqual([0]);
		expect(dealsOf(pd, leadId)).toHaveLength(1);
		expect(dealsOf(pd, leadId)[0]).toMatchObject({
			id: created.json.dealId,
			person_id: created.json.personId,
			value: 197.9,
			currency: 'BRL',
			status: 'open',
		});
		expect(
			pd.state.persons.filter((p) => JSON.stringify(p.emails).includes(String(input.json.email))),
		).toHaveLength(1);

		const out = await run(pipedriveNode, {
			parameters: { operation: 'upsertLead' },
			items: [input, lead({ email: '' })],
			credentials: credentialsOf(pd),
			continueOnFail: true,
		});
		expect(out[0].json).toMatchObject({
			leadId,
			dealId: created.json.dealId,
			personId: created.json.personId,
			personCreated: false,
			dealCreated: false,
		});
		expect(pairedIndices(out[0])).toEqual([0]);
		expectErrorItem(out[1], 1, /no email/i);
		expect(dealsOf(pd, leadId)).toHaveLength(1);
		await expect(
			run(pipedriveNode, {
				parameters: { operation: 'upsertLead' },
				items: [lead({ email: '' })],
				credentials: credentialsOf(pd),
			}),
		).rejects.toBeInstanceOf(NodeOperationError);
	});

	it("applyCheckoutEvent: a paid event wins the lead's deal; a claim not yet confirmed fails its item", async () => {
		const input = lead();
		const leadId = String(input.json.leadId);
		const [upserted] = await run(pipedriveNode, {
			parameters: { operation: 'upsertLead' },
			items: [input],
			credentials: credentialsOf(pd),
		});
		const occurredAt = new Date().toISOString();
		const paid = {
			eventId: `evt_paid_${RUN}_${leadId}`,
			type: 'paid',
			occurredAt,
			leadRef: leadId,
			provider: 'stripe',
			amount: 19790,
			currency: 'BRL',
		};
		const claim = {
			eventId: `mp-notification-${leadId}`,
			type: 'other',
			occurredAt,
			leadRef: leadId,
			provider: 'mercadopago',
			confirm: { paymentId: '1' },
		};
		const out = await run(pipedriveNode, {
			parameters: { operation: 'applyCheckoutEvent' },
			items: [json(claim), json(paid)],
			credentials: credentialsOf(pd),
			continueOnFail: true,
		});
		expectErrorItem(out[0], 0, /not confirmed/);
		expect(out[1].json).toMatchObject({
			eventId: paid.eventId,
			type: 'paid',
			leadRef: leadId,
			dealId: upserted.json.dealId,
			dealCreated: false,
			status: 'paid',
		});
		expect(out[1].json.effects).toContain('markWon');
		expect(pairedIndices(out[1])).toEqual([1]);
		expect(pd.state.deals.find((d) => d.id === upserted.json.dealId)).toMatchObject({
			status: 'won',
		});
		await expect(
			run(pipedriveNode, {
				parameters: { operation: 'applyCheckoutEvent' },
				items: [json(claim)],
				credentials: credentialsOf(pd),
			}),
		).rejects.toBeInstanceOf(NodeOperationError);
	});

	it('runFollowUpRules: an abandoned deal gets one activity after 0 minutes (none in a dry run, none a second time); round robin goes on in static data; two rules of one name are refused', async () => {
		const fresh = await freshStandIn();
		const credentials = credentialsOf(fresh);
		const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
		const [first] = await run(pipedriveNode, {
			parameters: { operation: 'upsertLead', options: { capturedAt: tenMinutesAgo } },
			items: [lead()],
			credentials,
		});
		const rule = {
			name: 'Abandoned',
			when: 'abandoned',
			after: 0,
			afterUnit: 'minutes',
			activityType: 'call',
			subject: 'Call {{name}} about {{product}}',
			dueInDays: 0,
			dueTime: '10:00',
			owner: 'roundRobin',
			roundRobinUserIds: [2, 3],
			useBusinessHours: false,
		};
		const staticData: IDataObject = {};
		const rules = async (extra: IDataObject = {}) =>
			await run(pipedriveNode, {
				parameters: { operation: 'runFollowUpRules', rules: { rule: [rule] }, ...extra },
				credentials,
				staticData,
			});

		const [dry] = await rules({ options: { dryRun: true } });
		expect(dry.json).toMatchObject({ dealsChecked: 1, activitiesCreated: 0, dryRun: true });
		expect(dry.json.activities).toEqual([
			expect.objectContaining({
				dealId: first.json.dealId,
				rule: 'Abandoned',
				subject: 'Call Ana Souza about Curso de Fotografia',
				ownerId: 2,
			}),
		]);
		expect(fresh.state.activities).toEqual([]);
		expect(staticData.roundRobin).toBeUndefined();

		const [created] = await rules();
		expect(created.json).toMatchObject({ dealsChecked: 1, activitiesCreated: 1, dryRun: false });
		expect(pairedIndices(created)).toEqual([0]);
		expect(fresh.state.activities).toHaveLength(1);
		expect(fresh.state.activities[0]).toMatchObject({
			deal_id: first.json.dealId,
			subject: 'Call Ana Souza about Curso de Fotografia',
			type: 'call',
			owner_id: 2,
		});
		expect(staticData.roundRobin).toBe(1);

		const [second] = await run(pipedriveNode, {
			parameters: { operation: 'upsertLead', options: { capturedAt: tenMinutesAgo } },
			items: [lead({ name: 'Bia Lima' })],
			credentials,
		});
		const [next] = await rules();
		expect(next.json).toMatchObject({ dealsChecked: 2, activitiesCreated: 1 });
		expect(fresh.state.activities).toHaveLength(2);
		expect(fresh.state.activities[1]).toMatchObject({
			deal_id: second.json.dealId,
			subject: 'Call Bia Lima about Curso de Fotografia',
			owner_id: 3,
		});
		expect(staticData.roundRobin).toBe(2);

		const twice = run(pipedriveNode, {
			parameters: { operation: 'runFollowUpRules', rules: { rule: [rule, { ...rule, after: 2 }] } },
			credentials,
			staticData,
		});
		await expect(twice).rejects.toBeInstanceOf(NodeOperationError);
		await expect(twice).rejects.toThrow(/Two rules are named "Abandoned"/);
		expect(fresh.state.activities).toHaveLength(2);
	});

	it('dropdowns: each list offers the empty value the shipped workflows use, so the editor flags none of them', async () => {
		const methods = pipedriveNode.methods!.loadOptions!;
		const ctx = Object.assign(
			executeContext({ node: pipedriveNode, parameters: {}, credentials: credentialsOf(pd) }),
			{ getCurrentNodeParameter: () => undefined },
		) as unknown as ILoadOptionsFunctions;
		const lists = Object.fromEntries(
			await Promise.all(
				Object.entries(methods).map(async ([name, load]) => [name, await load.call(ctx)] as const),
			),
		);
		const values = (name: string) => lists[name].map((o) => o.value);
		// Where an empty value means something, the list says what; round robin picks users only.
		expect(lists.getPipelines[0]).toEqual({ name: 'All Pipelines', value: '' });
		expect(lists.getPipelinesForNewDeals[0]).toMatchObject({ value: '' });
		expect(lists.getStages[0]).toMatchObject({ value: '' });
		expect(lists.getOwnersOfNewDeals[0]).toMatchObject({ value: '' });
		expect(lists.getChosenUsers[0]).toMatchObject({ value: '' });
		expect(values('getUsers')).not.toContain('');
		expect(values('getPipelines').slice(1)).toEqual(values('getPipelinesForNewDeals').slice(1));
		expect(
			values('getPipelines')
				.slice(1)
				.every((v) => typeof v === 'number'),
		).toBe(true);
		expect(values('getPipelines').length).toBeGreaterThan(1);
		expect(values('getActivityTypes')).toContain('call');
		// Every dropdown of the shipped workflows holds a value its list offers.
		const dropdowns = pipedriveNode.description.properties.flatMap(function walk(
			p: INodeProperties,
		): INodeProperties[] {
			const nested = (p.options ?? []).flatMap((o) =>
				'values' in o ? (o.values as INodeProperties[]).flatMap(walk) : [],
			);
			return [p, ...nested];
		});
		const methodOf = new Map(
			dropdowns
				.filter((p) => p.type === 'options' && p.typeOptions?.loadOptionsMethod)
				.map((p) => [p.name, p.typeOptions!.loadOptionsMethod as string]),
		);
		for (const file of readdirSync(join(REPO_ROOT, 'workflows')).filter((f) => f.endsWith('.json')))
			for (const node of (
				JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as {
					nodes: Array<{ type: string; parameters: IDataObject }>;
				}
			).nodes.filter((n) => n.type.endsWith('.pipedriveFollowUp'))) {
				const rows = [
					node.parameters,
					...(((node.parameters.rules as IDataObject)?.rule as IDataObject[]) ?? []),
				];
				for (const row of rows)
					for (const [name, value] of Object.entries(row)) {
						const method = methodOf.get(name);
						if (!method || (typeof value === 'string' && value.startsWith('='))) continue;
						expect({ file, name, offered: values(method).includes(value as string) }).toEqual({
							file,
							name,
							offered: true,
						});
					}
			}
	});

	it('checkoutReport: counts what the deals say, from one listing, by source', async () => {
		const fresh = await freshStandIn();
		const credentials = credentialsOf(fresh);
		// As the exported processor sets it: the lead's UTM data from the message.
		const upsert = (utm: IDataObject) =>
			run(pipedriveNode, {
				parameters: { operation: 'upsertLead', options: { utm } },
				items: [lead({ utm })],
				credentials,
			});
		await upsert({ utm_source: 'instagram' });
		await upsert({ utm_source: 'google' });
		const [report] = await run(pipedriveNode, {
			parameters: {
				operation: 'checkoutReport',
				period: 'last7Days',
				reportOptions: { includeHtml: true },
			},
			credentials,
		});
		expect(report.json).toMatchObject({ leads: 2, abandoned: 2, paid: 0, dealsListed: 2 });
		expect((report.json.bySource as IDataObject[]).map((g) => g.source).sort()).toEqual([
			'google',
			'instagram',
		]);
		expect(report.json.html).toEqual(expect.stringContaining('<svg'));
		// The field keys are cached from the upserts: the listing is the one call.
		expect(report.json.pipedriveCalls).toBe(1);
		await expect(
			run(pipedriveNode, {
				parameters: { operation: 'checkoutReport', period: 'custom', from: '' },
				credentials,
			}),
		).rejects.toThrow(/valid "From" date/);
	});
});

// =====================================================================================================
describe('Checkout Form', () => {
	const catalog = {
		product: [{ key: 'curso-foto', name: 'Curso de Fotografia', price: '197,90' }],
	};
	const post = (fields: IDataObject) =>
		json({
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				referer: 'https://shop.example/curso',
			},
			query: {},
			body: {
				nome: 'Ana Souza',
				email: 'Ana.Souza@Example.com',
				telefone: '(11) 98765-4321',
				produto: 'curso-foto',
				lgpd: 'on',
				utm_source: 'instagram',
				...fields,
			},
		});
	const parse = async (
		items: INodeExecutionData[],
		extra: { continueOnFail?: boolean; parameters?: IDataObject } = {},
	) =>
		(
			await execute(formNode, {
				parameters: { operation: 'parse', catalog, ...extra.parameters },
				items,
				credentials: linksCredentials(),
				continueOnFail: extra.continueOnFail,
			})
		).outputs;
	const openLinks = async (
		prefix: string,
		queries: IDataObject[],
		options: { bucket?: string; continueOnFail?: boolean } = {},
	) =>
		(
			await execute(formNode, {
				parameters: { operation: 'openLink', prefix },
				items: queries.map((query) => json({ query })),
				credentials: { ...linksCredentials(), ...s3Credentials(options.bucket) },
				continueOnFail: options.continueOnFail,
			})
		).outputs;
	const tokenOf = (payLink: unknown) => new URL(String(payLink)).searchParams.get('lead') ?? '';
	const forge = (token: string) => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');

	it('parse: a valid post → output 0, a lead priced from the catalog with a signed pay link; a bad e-mail → output 1, 422 naming the field; a honeypot → output 2', async () => {
		const outputs = await parse([
			post({}),
			post({ email: 'ana-at-example' }),
			post({ website: 'http://spam.example' }),
		]);
		expect(outputs).toHaveLength(3);
		const [valid, rejected, dropped] = outputs;

		expect(valid).toHaveLength(1);
		const leadJson = valid[0].json;
		expect(leadJson).toMatchObject({
			type: 'lead.captured',
			name: 'Ana Souza',
			email: 'ana.souza@example.com',
			phone: '+5511987654321',
			product: 'Curso de Fotografia',
			productKey: 'curso-foto',
			amount: 19790,
			currency: 'BRL',
			utm: { utm_source: 'instagram' },
			consent: { given: true },
		});
		expect(String(leadJson.leadId)).toMatch(
			/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
		);
		expect(leadJson.eventId).toBe(`${String(leadJson.leadId)}.${String(leadJson.revision)}`);
		expect(
			String(leadJson.payLink).startsWith(`${LINKS.payUrl}?lead=${String(leadJson.leadId)}.`),
		).toBe(true);
		expect(Date.parse(String(leadJson.payLinkExpiresAt)) - Date.now()).toBeGreaterThan(
			6.9 * 86_400_000,
		);
		expect(pairedIndices(valid[0])).toEqual([0]);

		expect(rejected).toHaveLength(1);
		expect(rejected[0].json).toMatchObject({
			status: 422,
			contentType: 'application/json',
			errors: [{ field: 'email', message: expect.stringMatching(/valid e-mail/) }],
		});
		expect(JSON.parse(String(rejected[0].json.responseBody))).toMatchObject({
			fields: [{ field: 'email' }],
		});
		expect(pairedIndices(rejected[0])).toEqual([1]);

		expect(dropped).toEqual([
			{ json: { dropped: true, honeypot: 'website' }, pairedItem: { item: 2 } },
		]);
	});

	it('parse: with continue on fail, an item whose catalog cannot work becomes an error item and the other items go on', async () => {
		const brokenCatalog = {
			product: [{ key: 'curso-foto', name: 'Curso de Fotografia', price: 'abc' }],
		};
		const outputs = await parse([post({}), post({})], {
			continueOnFail: true,
			parameters: { catalog: (i: number) => (i === 1 ? brokenCatalog : catalog) },
		});
		const all = outputs.flat();
		expect(outputs[0][0].json).toMatchObject({ type: 'lead.captured', amount: 19790 });
		expect(pairedIndices(outputs[0][0])).toEqual([0]);
		const errors = all.filter((item) => 'error' in item.json);
		expect(errors).toHaveLength(1);
		expectErrorItem(errors[0], 1, /price "abc" is not an amount/);
	});

	it('openLink: a link made by parse opens its lead once stored in the archive; unknown, forged and paid links get the one neutral answer', async () => {
		const prefix = newPrefix('links');
		const [[lead]] = await parse([post({})]);
		const token = tokenOf(lead.json.payLink);

		const [beforeStore, unknown] = await openLinks(prefix, [{ lead: token }]);
		expect(beforeStore).toEqual([]);
		expect(unknown).toHaveLength(1);
		expect(unknown[0].json).toMatchObject({ available: false, reason: 'unknown', status: 404 });
		expect(pairedIndices(unknown[0])).toEqual([0]);

		const [stored] = await run(archiveNode, {
			parameters: {
				operation: 'store',
				prefix,
				dataFrom: 'json',
				source: 'lead',
				eventId: String(lead.json.eventId),
			},
			items: [lead],
			credentials: s3Credentials(),
		});
		const [open, refused] = await openLinks(prefix, [
			{ lead: token },
			{ lead: forge(token) },
			{ lead: 'not-a-link' },
		]);
		expect(open).toHaveLength(1);
		expect(open[0].json).toMatchObject({
			leadId: lead.json.leadId,
			email: 'ana.souza@example.com',
			amount: 19790,
			archiveKey: stored.json.key,
			available: true,
			payLinkExpiresAt: lead.json.payLinkExpiresAt,
		});
		expect(tokenOf(open[0].json.payLink)).toBe(token);
		expect(pairedIndices(open[0])).toEqual([0]);
		expect(refused.map((r) => r.json.reason)).toEqual(['forged', 'malformed']);
		expect(refused.map((r) => pairedIndices(r))).toEqual([[1], [2]]);
		// One answer whatever the reason: nothing tells a forged link from an unknown one.
		const answer = (item: INodeExecutionData) => [
			item.json.status,
			item.json.contentType,
			item.json.responseBody,
		];
		expect(refused.map(answer)).toEqual([answer(unknown[0]), answer(unknown[0])]);

		await run(archiveNode, {
			parameters: { operation: 'closeLinks', prefix },
			items: [
				json({
					eventId: `evt-closes-${RUN}`,
					type: 'paid',
					leadRef: lead.json.leadId,
					provider: 'stripe',
					occurredAt: new Date().toISOString(),
				}),
			],
			credentials: s3Credentials(),
		});
		const [afterPaid, paid] = await openLinks(prefix, [{ lead: token }]);
		expect(afterPaid).toEqual([]);
		expect(paid[0].json).toMatchObject({ available: false, reason: 'paid' });
		expect(answer(paid[0])).toEqual(answer(unknown[0]));
	});

	it('openLink: with continue on fail, a storage failure becomes an error item; without, the run fails', async () => {
		const [[lead]] = await parse([post({})]);
		const token = tokenOf(lead.json.payLink);
		const missingBucket = `cr-nodes-missing-${RUN}`;
		const [open, refused] = await openLinks('checkout', [{ lead: forge(token) }, { lead: token }], {
			bucket: missingBucket,
			continueOnFail: true,
		});
		expect(refused.map((r) => [r.json.reason, pairedIndices(r)])).toEqual([['forged', [0]]]);
		expect(open).toHaveLength(1);
		expectErrorItem(open[0], 1, /bucket/i);
		await expect(
			openLinks('checkout', [{ lead: token }], { bucket: missingBucket }),
		).rejects.toBeInstanceOf(NodeOperationError);
	});
});
