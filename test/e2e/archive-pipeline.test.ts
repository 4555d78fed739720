/**
 * The exported intake and sweep workflows in the real n8n, against the real S3 server, the real
 * RabbitMQ and the gateway stand-ins:
 *  - 500 signed Stripe events POSTed to the intake webhook are verified and archived; the scheduled sweep
 *    relays them; the queue holds 500 messages in order, each byte-equal to its archived object;
 *  - Mercado Pago and Asaas events sent by the stand-ins (signed as those gateways sign) are archived,
 *    the Mercado Pago one completed by fetching the payment;
 *  - forged webhooks get 401 and leave nothing pending;
 *  - a storage outage answers 503 so the sender retries.
 */
import type { ChannelModel } from 'amqplib';
import { LeadRegistry } from '../../lib/archive/leadRegistry';

import { S3Archive } from '../../lib/archive/archive';
import { signMercadoPago } from '../../lib/gateways/mercadopago';
import { signStripePayload } from '../../lib/gateways/stripe';
import { GATEWAY_KEYS } from '../../testbench/credentials';
import { E2eStack } from '../../testbench/e2eStack';
import { countExecutions, type N8nInstance } from '../../testbench/n8n';
import { drainQueue, uniqueTopology } from '../../testbench/rabbitmq';
import type { S3Server } from '../../testbench/s3';
import type { GatewayStandIn } from '../../testbench/standins/gateways';
import { exportedWorkflowForTest } from '../../testbench/workflows';

jest.setTimeout(600_000);

const BUCKET = 'pipeline';
const PREFIX = 'e2e';
const topology = uniqueTopology('e2e-pipeline');
let s3: S3Server;
let broker: ChannelModel;
let n8n: N8nInstance;
let gateways: GatewayStandIn;
let archive: S3Archive;
let stack: E2eStack;

const url = (provider: string) => n8n.webhookUrl(`checkout/payment-webhook/${provider}`);

beforeAll(async () => {
	stack = await E2eStack.start({
		s3: { bucket: BUCKET, prefix: PREFIX },
		topology,
		// The stand-ins of Stripe and Asaas notify the intake, as those gateways would.
		gateways: {
			notify: {
				stripe: 'checkout/payment-webhook/stripe',
				asaas: 'checkout/payment-webhook/asaas',
			},
		},
		workflows: [
			exportedWorkflowForTest('payment-webhook-intake.json', {
				prefix: PREFIX,
				keepSuccessfulExecutions: true,
			}),
			exportedWorkflowForTest('archive-sweep.json', {
				prefix: PREFIX,
				topology,
				scheduleSeconds: 5,
			}),
		],
		ready: async (instance) =>
			(
				await fetch(instance.webhookUrl('checkout/payment-webhook/stripe'), {
					method: 'POST',
					body: '{}',
				})
			).status === 401,
	});
	({ n8n, s3, broker, gateways, archive } = stack);
});

afterAll(async () => {
	await stack?.stop();
});

async function post(provider: string, body: string, headers: Record<string, string>, query = '') {
	const res = await fetch(url(provider) + query, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body,
	});
	return { status: res.status, text: await res.text(), retryAfter: res.headers.get('retry-after') };
}

function stripeEvent(i: number): string {
	return JSON.stringify({
		id: `evt_e2e_${String(i).padStart(4, '0')}`,
		object: 'event',
		type: i % 3 === 0 ? 'checkout.session.expired' : 'checkout.session.completed',
		created: Math.floor(Date.now() / 1000),
		data: {
			object: {
				id: `cs_test_${i}`,
				object: 'checkout.session',
				client_reference_id: `lead-${i}`,
				amount_total: 19990 + i,
				currency: 'brl',
				payment_status: 'paid',
				customer_details: { name: i % 2 ? 'José Ñandú' : 'Ana' },
			},
		},
	});
}

async function keys(state: 'pending' | 'relayed'): Promise<string[]> {
	const out: string[] = [];
	for await (const page of archive.walk(state)) out.push(...page.map((o) => o.key));
	return out;
}

it('verifies and archives 500 signed Stripe events; the scheduled sweep relays them in order, byte-equal', async () => {
	const sent: string[] = [];
	for (let i = 0; i < 500; i++) {
		const body = stripeEvent(i);
		const res = await post('stripe', body, {
			'stripe-signature': signStripePayload(
				body,
				GATEWAY_KEYS.stripe.webhookSecret,
				Math.floor(Date.now() / 1000),
			),
		});
		expect(res.status).toBe(200);
		expect(JSON.parse(res.text)).toEqual({ received: true, duplicate: false });
		sent.push(body);
	}
	const messages = (await drainQueue(broker, topology.queue, 600, 20_000)).filter((m) =>
		String(m.messageId).startsWith('evt_e2e_'),
	);
	expect(messages.map((m) => m.messageId)).toEqual(sent.map((b) => JSON.parse(b).id));
	for (const [i, m] of messages.entries()) {
		const event = JSON.parse(m.content.toString('utf8'));
		expect(event).toMatchObject({
			eventId: `evt_e2e_${String(i).padStart(4, '0')}`,
			provider: 'stripe',
			leadRef: `lead-${i}`,
			amount: 19990 + i,
			currency: 'BRL',
			type: i % 3 === 0 ? 'expired' : 'paid',
		});
		expect(event.raw).toEqual(JSON.parse(sent[i]));
	}
	// Each message is the archived object, byte for byte.
	for (const m of [messages[0], messages[250], messages[499]]) {
		const stored = await archive.get(
			String(m.headers['x-archive-key']).replace(`${PREFIX}/pending/`, `${PREFIX}/relayed/`),
		);
		expect(stored.body.equals(m.content)).toBe(true);
	}
	expect(await keys('pending')).toEqual([]);

	// The visual intake runs one execution per request (what the fast-intake trigger avoids); this also
	// proves that the execution counter used by the fast-intake test counts.
	expect(countExecutions(n8n, 'crPaymentIntake1')).toBeGreaterThanOrEqual(500);

	// The visual intake's Store closes a paid checkout's pay links; an expired one keeps them (a follow-up may still bring the buyer back).
	expect(await new LeadRegistry(archive).isLeadClosed('lead-1')).toBe(true);
	expect(await new LeadRegistry(archive).isLeadClosed('lead-3')).toBe(false);

	// A gateway retry of an event already archived is acknowledged and changes nothing.
	const retry = await post('stripe', sent[0], {
		'stripe-signature': signStripePayload(
			sent[0],
			GATEWAY_KEYS.stripe.webhookSecret,
			Math.floor(Date.now() / 1000),
		),
	});
	expect(JSON.parse(retry.text)).toEqual({ received: true, duplicate: true });
});

it('archives what the Mercado Pago and Asaas stand-ins send after the buyer pays, as claims to confirm', async () => {
	const before = (await keys('pending')).length + (await keys('relayed')).length;
	// Mercado Pago: a preference with our notification URL, then the buyer pays on the stand-in's page.
	const pref = await fetch(`${gateways.baseUrl}/checkout/preferences`, {
		method: 'POST',
		headers: {
			authorization: `Bearer ${GATEWAY_KEYS.mercadopago.accessToken}`,
			'content-type': 'application/json',
		},
		body: JSON.stringify({
			items: [{ title: 'Curso', quantity: 1, unit_price: 199.9, currency_id: 'BRL' }],
			external_reference: 'lead-mp-1',
			notification_url: url('mercadopago'),
		}),
	}).then((r) => r.json() as Promise<{ id: string }>);
	const mpSent = await gateways.act('mercadopago', pref.id, 'pay');
	expect(mpSent?.status).toBe(200);

	const checkout = await fetch(`${gateways.baseUrl}/v3/checkouts`, {
		method: 'POST',
		headers: { access_token: GATEWAY_KEYS.asaas.apiKey, 'content-type': 'application/json' },
		body: JSON.stringify({
			billingTypes: ['PIX'],
			chargeTypes: ['DETACHED'],
			callback: { successUrl: 'https://s/ok', cancelUrl: 'https://s/c', expiredUrl: 'https://s/e' },
			items: [{ name: 'Curso', description: 'Curso', quantity: 1, value: 199.9 }],
			externalReference: 'lead-asaas-1',
		}),
	}).then((r) => r.json() as Promise<{ id: string }>);
	const asaasSent = await gateways.act('asaas', checkout.id, 'expire');
	expect(asaasSent?.status).toBe(200);

	const messages = await drainQueue(broker, topology.queue, 10, 15_000);
	const events = messages.map((m) => JSON.parse(m.content.toString('utf8')));
	expect(events).toEqual(
		expect.arrayContaining([
			// Archived as received: claims that name the payment the processor reads before a deal changes.
			expect.objectContaining({
				provider: 'mercadopago',
				type: 'other',
				confirm: { paymentId: gateways.checkouts.get(pref.id)!.paymentId },
			}),
			expect.objectContaining({
				provider: 'asaas',
				type: 'expired',
				leadRef: 'lead-asaas-1',
				confirm: { paymentId: gateways.checkouts.get(checkout.id)!.paymentId },
			}),
		]),
	);
	expect((await keys('pending')).length + (await keys('relayed')).length).toBe(before + 2);
});

it('answers forged webhooks with 401 and stores nothing', async () => {
	const before = [...(await keys('pending')), ...(await keys('relayed'))];
	const body = stripeEvent(9999);
	const t = Math.floor(Date.now() / 1000);
	const forged = [
		post('stripe', body, { 'stripe-signature': signStripePayload(body, 'whsec_attacker', t) }),
		post('stripe', body, {}),
		post('stripe', body.replace('cs_test_9999', 'cs_test_1'), {
			'stripe-signature': signStripePayload(body, GATEWAY_KEYS.stripe.webhookSecret, t),
		}),
		post('stripe', body, {
			'stripe-signature': signStripePayload(body, GATEWAY_KEYS.stripe.webhookSecret, t - 3600),
		}),
		post(
			'mercadopago',
			'{"type":"payment","data":{"id":"1"}}',
			{ 'x-signature': signMercadoPago('1', 'r', String(t), 'wrong'), 'x-request-id': 'r' },
			'?data.id=1&type=payment',
		),
		post('asaas', '{"id":"evt_x","event":"PAYMENT_RECEIVED"}', { 'asaas-access-token': 'guess' }),
	];
	for (const res of await Promise.all(forged)) {
		expect(res.status).toBe(401);
		expect(JSON.parse(res.text)).toEqual({ error: 'invalid signature' });
	}
	expect([...(await keys('pending')), ...(await keys('relayed'))]).toEqual(before);

	// What an attacker sends the visual intake: prototype keys (signed and not), a 2 MB body, a replay.
	const poisoned = stripeEvent(9998).replace(
		'{',
		'{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":1}},',
	);
	const attacks = await Promise.all([
		post('stripe', poisoned, {
			'stripe-signature': signStripePayload(poisoned, GATEWAY_KEYS.stripe.webhookSecret, t),
		}),
		post('stripe', poisoned, {}),
		post('stripe', JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }), {}),
		post('asaas', '{"__proto__":{"polluted":"yes"},"event":"PAYMENT_RECEIVED"}', {
			'asaas-access-token': GATEWAY_KEYS.asaas.webhookToken,
		}),
	]);
	expect(attacks.map((a) => a.status)).toEqual([401, 401, 401, 401]);
	expect([...(await keys('pending')), ...(await keys('relayed'))]).toEqual(before);
	// The instance keeps answering valid webhooks.
	const valid = stripeEvent(9997);
	expect(
		(
			await post('stripe', valid, {
				'stripe-signature': signStripePayload(
					valid,
					GATEWAY_KEYS.stripe.webhookSecret,
					Math.floor(Date.now() / 1000),
				),
			})
		).status,
	).toBe(200);
});

it('answers 503 with Retry-After when the store is down, and stores the retry once it is back', async () => {
	const body = stripeEvent(7777);
	const sign = () => ({
		'stripe-signature': signStripePayload(
			body,
			GATEWAY_KEYS.stripe.webhookSecret,
			Math.floor(Date.now() / 1000),
		),
	});
	await s3.stop();
	try {
		const res = await post('stripe', body, sign());
		expect(res.status).toBe(503);
		expect(res.retryAfter).toBe('30');
	} finally {
		await s3.start();
	}
	const retried = await post('stripe', body, sign());
	expect(retried.status).toBe(200);
	expect(JSON.parse(retried.text)).toEqual({ received: true, duplicate: false });
});
