/**
 * The exported intake and sweep workflows in the real n8n, against the real S3 server and RabbitMQ:
 * 500 POSTs to the intake webhook become 500 pending objects; the scheduled sweep relays them; the queue
 * holds 500 messages in order with byte-equal payloads. A storage outage answers 503 so the sender retries.
 */
import type { ChannelModel } from 'amqplib';

import { S3Archive } from '../../lib/archive/archive';
import { createS3Client } from '../../lib/s3/client';
import { startN8n, type N8nInstance } from '../../testbench/n8n';
import { connectBroker, deleteTopology, drainQueue, uniqueTopology } from '../../testbench/rabbitmq';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { rabbitCredential, s3Credential } from '../helpers/credentials';
import { exportedWorkflowForTest } from '../helpers/workflows';

jest.setTimeout(600_000);

const BUCKET = 'pipeline';
const PREFIX = 'e2e';
const topology = uniqueTopology('e2e-pipeline');
let s3: S3Server;
let broker: ChannelModel;
let n8n: N8nInstance;

beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(BUCKET);
	broker = await connectBroker();
	n8n = await startN8n({
		workflows: [
			exportedWorkflowForTest('payment-webhook-intake.json', { prefix: PREFIX }),
			exportedWorkflowForTest('archive-sweep.json', { prefix: PREFIX, topology, scheduleSeconds: 5 }),
		],
		credentials: [s3Credential(s3.settings(BUCKET)), rabbitCredential()],
		ready: async (instance) => (await fetch(instance.webhookUrl('checkout/payment-webhook'), { method: 'POST', body: '' })).status !== 404,
	});
});

afterAll(async () => {
	await n8n?.stop();
	if (broker) {
		await deleteTopology(broker, topology);
		await broker.close();
	}
	await s3?.destroy();
});

async function postEvent(body: string) {
	const res = await fetch(n8n.webhookUrl('checkout/payment-webhook?source=stripe'), {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=abc' },
		body,
	});
	return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

it('archives 500 POSTs and the scheduled sweep relays all of them in order, byte-equal', async () => {
	// (The readiness probe's empty POST is archived too; only this test's events are compared.)
	const client = createS3Client(s3.settings(BUCKET));
	const archive = new S3Archive(client, { bucket: BUCKET, prefix: PREFIX });

	const bodies: string[] = [];
	for (let i = 0; i < 500; i++) {
		// Varied shapes: unicode, nested data, different lengths, key order as sent.
		const body = JSON.stringify({ id: `evt_e2e_${String(i).padStart(4, '0')}`, type: 'checkout.session.completed', data: { object: { amount_total: 19990 + i, customer_details: { name: i % 2 ? 'José Ñandú' : 'Ana' } } }, z: 1, a: [i] });
		const res = await postEvent(body);
		expect(res.status).toBe(200);
		expect(JSON.parse(res.text)).toEqual({ received: true, duplicate: false });
		bodies.push(body);
	}
	const messages = await drainQueue(broker, topology.queue, 600, 20_000);
	const ours = messages.filter((m) => String(m.messageId).startsWith('evt_e2e_'));
	expect(ours.map((m) => m.messageId)).toEqual(bodies.map((b) => JSON.parse(b).id));
	expect(ours.every((m, i) => m.content.equals(Buffer.from(bodies[i])))).toBe(true);
	expect(ours[0].headers).toMatchObject({ 'x-source': 'stripe', 'x-header-stripe-signature': 't=1,v1=abc' });

	let pending = 0;
	for await (const page of archive.walk('pending')) pending += page.length;
	let relayed = 0;
	for await (const page of archive.walk('relayed')) relayed += page.length;
	client.destroy();
	expect(pending).toBe(0);
	expect(relayed).toBeGreaterThanOrEqual(500);

	// A gateway retry of an event already archived is acknowledged and changes nothing.
	const retry = await postEvent(bodies[0]);
	expect(JSON.parse(retry.text)).toEqual({ received: true, duplicate: true });
});

it('answers 503 with Retry-After when the store is down, and stores the retry once it is back', async () => {
	await s3.stop();
	const body = JSON.stringify({ id: 'evt_outage_1', type: 'payment_intent.succeeded' });
	try {
		const res = await postEvent(body);
		expect(res.status).toBe(503);
		expect(res.retryAfter).toBe('30');
	} finally {
		await s3.start();
	}
	const retried = await postEvent(body);
	expect(retried.status).toBe(200);
	expect(JSON.parse(retried.text)).toEqual({ received: true, duplicate: false });
});
