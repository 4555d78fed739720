/**
 * The Payment Webhook Trigger (fast intake) in the real n8n, from the exported workflow: verified events
 * are archived and answered 200 without any execution; forged ones get 401 and store nothing; a storage
 * outage answers 503 with Retry-After. Same archived form as the visual intake.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeadRegistry } from '../../lib/archive/leadRegistry';

import { S3Archive } from '../../lib/archive/archive';
import { signMercadoPago } from '../../lib/gateways/mercadopago';
import { signStripePayload } from '../../lib/gateways/stripe';
import { GATEWAY_KEYS } from '../../testbench/credentials';
import { E2eStack } from '../../testbench/e2eStack';
import { countExecutions, type N8nInstance } from '../../testbench/n8n';
import type { S3Server } from '../../testbench/s3';
import type { GatewayStandIn } from '../../testbench/standins/gateways';
import { exportedWorkflowForTest } from '../../testbench/workflows';

/** The exported fast-intake workflow with one more Stripe trigger that also starts an execution per event. */
function withExecutionTrigger(file: string): string {
	const wf = JSON.parse(readFileSync(file, 'utf8')) as {
		id: string;
		name: string;
		nodes: Array<Record<string, unknown>>;
	};
	const stripe = wf.nodes.find(
		(n) => (n.parameters as { provider: string }).provider === 'stripe',
	)!;
	const out = {
		...wf,
		id: 'crFastIntakeExec',
		name: 'fast intake with executions',
		nodes: [
			{
				...stripe,
				id: 'exec-trigger',
				name: 'Stripe (fast, with execution)',
				webhookId: '7c8f6c7e-2f0e-4a55-9a0b-5d3c1e7a9199',
				parameters: {
					...(stripe.parameters as object),
					path: 'test/fast/with-execution',
					startExecution: true,
				},
			},
		],
	};
	const path = join(mkdtempSync(join(tmpdir(), 'cr-wf-')), 'exec.json');
	writeFileSync(path, JSON.stringify(out));
	return path;
}

jest.setTimeout(300_000);

const BUCKET = 'fast';
const PREFIX = 'fast';
let s3: S3Server;
let gateways: GatewayStandIn;
let n8n: N8nInstance;
let archive: S3Archive;
let stack: E2eStack;

beforeAll(async () => {
	stack = await E2eStack.start({
		s3: { bucket: BUCKET, prefix: PREFIX },
		gateways: true,
		workflows: [
			exportedWorkflowForTest('payment-webhook-fast-intake.json', { prefix: PREFIX }),
			withExecutionTrigger(
				exportedWorkflowForTest('payment-webhook-fast-intake.json', {
					prefix: `${PREFIX}-exec`,
					keepSuccessfulExecutions: true,
				}),
			),
		],
		env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
		ready: async (instance) =>
			(await fetch(instance.webhookUrl('checkout/fast/stripe'), { method: 'POST', body: '{}' }))
				.status === 401,
	});
	({ n8n, s3, gateways, archive } = stack);
});
afterAll(async () => {
	await stack?.stop();
});

async function post(path: string, body: string, headers: Record<string, string>) {
	const res = await fetch(n8n.webhookUrl(path), {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body,
	});
	return {
		status: res.status,
		json: (await res.json()) as Record<string, unknown>,
		retryAfter: res.headers.get('retry-after'),
	};
}
const stripeBody = (i: number) =>
	JSON.stringify({
		id: `evt_fast_${i}`,
		object: 'event',
		type: 'checkout.session.completed',
		created: Math.floor(Date.now() / 1000),
		data: {
			object: {
				id: `cs_${i}`,
				client_reference_id: `lead-${i}`,
				amount_total: 5000 + i,
				currency: 'brl',
				payment_status: 'paid',
			},
		},
	});
const signed = (body: string, secret = GATEWAY_KEYS.stripe.webhookSecret) => ({
	'stripe-signature': signStripePayload(body, secret, Math.floor(Date.now() / 1000)),
});

async function pendingObjects(): Promise<string[]> {
	const keys: string[] = [];
	for await (const page of archive.walk('pending')) keys.push(...page.map((o) => o.key));
	return keys;
}

it('archives verified events and answers 200 without starting any execution', async () => {
	const sent: string[] = [];
	const results = await Promise.all(
		Array.from({ length: 60 }, async (_, i) => {
			const body = stripeBody(i);
			sent[i] = body;
			return post('checkout/fast/stripe', body, signed(body));
		}),
	);
	for (const r of results)
		expect(r).toMatchObject({ status: 200, json: { received: true, duplicate: false } });
	const keys = await pendingObjects();
	expect(keys).toHaveLength(60);
	for (const key of keys) {
		const stored = JSON.parse((await archive.get(key)).body.toString('utf8'));
		const i = Number(stored.eventId.replace('evt_fast_', ''));
		expect(stored).toMatchObject({
			provider: 'stripe',
			type: 'paid',
			leadRef: `lead-${i}`,
			amount: 5000 + i,
			currency: 'BRL',
		});
		expect(stored.raw).toEqual(JSON.parse(sent[i]));
	}
	const again = await post('checkout/fast/stripe', sent[0], signed(sent[0]));
	expect(again).toMatchObject({ status: 200, json: { received: true, duplicate: true } });
	expect(countExecutions(n8n)).toBe(0);
	// A paid checkout's pay links are closed before the gateway gets its 200.
	expect(await new LeadRegistry(archive).isLeadClosed('lead-0')).toBe(true);
	expect(await new LeadRegistry(archive).isLeadClosed('lead-59')).toBe(true);
	expect(await new LeadRegistry(archive).isLeadClosed('lead-never-paid')).toBe(false);
});

it('archives a Mercado Pago notification as received, naming the signed payment to confirm: its answer waits on no Mercado Pago call', async () => {
	const before = (await pendingObjects()).length;
	const pref = await fetch(`${gateways.baseUrl}/checkout/preferences`, {
		method: 'POST',
		headers: {
			authorization: `Bearer ${GATEWAY_KEYS.mercadopago.accessToken}`,
			'content-type': 'application/json',
		},
		body: JSON.stringify({
			items: [{ title: 'Curso', quantity: 1, unit_price: 49.9, currency_id: 'BRL' }],
			external_reference: 'lead-fast-mp',
			notification_url: n8n.webhookUrl('checkout/fast/mercadopago'),
		}),
	}).then((r) => r.json() as Promise<{ id: string }>);
	expect((await gateways.act('mercadopago', pref.id, 'pay'))?.status).toBe(200);
	const paymentId = gateways.checkouts.get(pref.id)!.paymentId!;
	// A notification for a payment Mercado Pago does not know (yet): still 200, archived for the processor
	// to resolve with retries; a lookup at intake would have answered 502 here.
	const t = String(Date.now());
	const unknown = await post(
		'checkout/fast/mercadopago?data.id=777000111&type=payment',
		'{"type":"payment","action":"payment.created","data":{"id":"777000111"}}',
		{
			'x-signature': signMercadoPago(
				'777000111',
				'req-unknown',
				t,
				GATEWAY_KEYS.mercadopago.webhookSecret,
			),
			'x-request-id': 'req-unknown',
		},
	);
	expect(unknown).toMatchObject({ status: 200, json: { received: true, duplicate: false } });
	const keys = await pendingObjects();
	expect(keys).toHaveLength(before + 2);
	const stored = await Promise.all(
		keys
			.slice(-2)
			.map(
				async (k) =>
					JSON.parse((await archive.get(k)).body.toString('utf8')) as Record<string, unknown>,
			),
	);
	expect(stored).toEqual(
		expect.arrayContaining([
			expect.objectContaining({
				provider: 'mercadopago',
				type: 'other',
				confirm: { paymentId },
				providerRef: paymentId,
			}),
			expect.objectContaining({
				provider: 'mercadopago',
				type: 'other',
				confirm: { paymentId: '777000111' },
			}),
		]),
	);
	// Nothing is paid until the processor has read the payment: the links close there, not here.
	expect(await new LeadRegistry(archive).isLeadClosed('lead-fast-mp')).toBe(false);
});

it('withstands what an attacker sends (replayed and forged signatures, prototype keys, 2 MB bodies) and keeps answering', async () => {
	const before = await pendingObjects();
	const old = stripeBody(7001);
	const replayed = {
		'stripe-signature': signStripePayload(
			old,
			GATEWAY_KEYS.stripe.webhookSecret,
			Math.floor(Date.now() / 1000) - 3600,
		),
	};
	const poisoned = JSON.stringify({
		id: 'evt_proto',
		object: 'event',
		type: 'checkout.session.completed',
		created: Math.floor(Date.now() / 1000),
		data: {
			object: {
				id: 'cs_p',
				client_reference_id: 'lead-proto',
				amount_total: 1,
				currency: 'brl',
				payment_status: 'paid',
			},
		},
	}).replace('{', '{"__proto__":{"polluted":"yes"},');
	const huge = JSON.stringify({ id: 'evt_huge', pad: 'x'.repeat(2 * 1024 * 1024) });
	const answers = await Promise.all([
		post('checkout/fast/stripe', old, replayed),
		post('checkout/fast/stripe', poisoned, signed(poisoned)),
		post('checkout/fast/stripe', huge, {}),
		post('checkout/fast/stripe', huge, signed(huge)),
		post('checkout/fast/stripe', stripeBody(7002), {
			...signed(stripeBody(7002)),
			__proto__: 'x',
			constructor: 'y',
		} as Record<string, string>),
		post('checkout/fast/asaas', '{"__proto__":{"polluted":"yes"}}', {
			'asaas-access-token': GATEWAY_KEYS.asaas.webhookToken,
		}),
	]);
	expect(answers.slice(0, 4).map((a) => a.status)).toEqual([401, 401, 401, 401]);
	expect(answers[4].status).toBe(200); // header names are data, not keys of our objects
	expect(answers[5].status).toBe(401);
	expect((await pendingObjects()).length).toBe(before.length + 1);
	expect(await new LeadRegistry(archive).isLeadClosed('lead-proto')).toBe(false);
	// Still answering valid events.
	const body = stripeBody(7003);
	expect(await post('checkout/fast/stripe', body, signed(body))).toMatchObject({
		status: 200,
		json: { received: true, duplicate: false },
	});
});

it('answers forged webhooks with 401 and stores nothing', async () => {
	const before = await pendingObjects();
	const body = stripeBody(999);
	const t = String(Math.floor(Date.now() / 1000));
	const forged = await Promise.all([
		post('checkout/fast/stripe', body, signed(body, 'whsec_attacker')),
		post('checkout/fast/stripe', body, {}),
		post('checkout/fast/mercadopago', '{"type":"payment","data":{"id":"1"}}', {
			'x-signature': signMercadoPago('1', 'r', t, 'wrong'),
			'x-request-id': 'r',
		}),
		post('checkout/fast/asaas', '{"id":"evt_x","event":"PAYMENT_RECEIVED"}', {
			'asaas-access-token': 'guess',
		}),
	]);
	for (const r of forged)
		expect(r).toEqual({ status: 401, json: { error: 'invalid signature' }, retryAfter: null });
	expect(await pendingObjects()).toEqual(before);
	expect(countExecutions(n8n)).toBe(0);
});

it('answers 503 with Retry-After when the store is down', async () => {
	const body = stripeBody(555);
	await s3.stop();
	try {
		const r = await post('checkout/fast/stripe', body, signed(body));
		expect(r).toMatchObject({ status: 503, retryAfter: '30' });
	} finally {
		await s3.start();
	}
	expect(await post('checkout/fast/stripe', body, signed(body))).toMatchObject({
		status: 200,
		json: { duplicate: false },
	});
});

it('starts an execution per verified event when asked to, and still answers at once', async () => {
	const body = stripeBody(4242);
	const r = await post('test/fast/with-execution', body, signed(body));
	expect(r).toMatchObject({ status: 200, json: { received: true, duplicate: false } });
	const deadline = Date.now() + 20_000;
	while (countExecutions(n8n, 'crFastIntakeExec') < 1 && Date.now() < deadline)
		await new Promise((res) => setTimeout(res, 250));
	expect(countExecutions(n8n, 'crFastIntakeExec')).toBe(1);
	expect(countExecutions(n8n, 'crFastIntake0001')).toBe(0);
});

it("keeps every gateway secret out of n8n's log", () => {
	const log = n8n.log();
	expect(log).toContain('Payment webhook rejected'); // the rejections above were logged, with their reasons
	for (const secret of [
		GATEWAY_KEYS.stripe.secretKey,
		GATEWAY_KEYS.stripe.webhookSecret,
		GATEWAY_KEYS.mercadopago.accessToken,
		GATEWAY_KEYS.mercadopago.webhookSecret,
		GATEWAY_KEYS.asaas.apiKey,
		GATEWAY_KEYS.asaas.webhookToken,
	]) {
		expect(log).not.toContain(secret);
	}
});
