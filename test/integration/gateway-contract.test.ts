/**
 * Keeps our gateway code and the local stand-ins honest with the vendors' own SDKs: what the official
 * `stripe` package signs must verify with our code (and the other way round), the official Stripe client
 * pointed at the stand-in must create and read a Checkout Session, and the official `mercadopago`
 * WebhookSignatureValidator must agree with ours on every accept/reject vector.
 */
import Stripe from 'stripe';
import { WebhookSignatureValidator } from 'mercadopago';

import { signMercadoPago, verifyMercadoPagoSignature } from '../../lib/gateways/mercadopago';
import { signStripePayload, verifyStripeSignature } from '../../lib/gateways/stripe';
import { PROVIDERS } from '../../lib/gateways';
import type { HttpRequestSpec, PaymentLinkRequest } from '../../lib/gateways/types';
import { startGatewayStandIn, type GatewayStandIn } from '../../testbench/standins/gateways';

jest.setTimeout(60_000);

const STRIPE_SECRET = 'whsec_contract_test';
let standIn: GatewayStandIn;
const keys = {
	stripe: { secretKey: 'sk_test_contract', webhookSecret: STRIPE_SECRET },
	mercadopago: { accessToken: 'TEST-contract-token', webhookSecret: 'mp-secret' },
	asaas: { apiKey: '$aact_contract', webhookToken: 'asaas-token-contract-0123456789abcdef' },
};

beforeAll(async () => {
	standIn = await startGatewayStandIn(keys);
});
afterAll(async () => {
	await standIn?.close();
});

const payload = JSON.stringify({
	id: 'evt_contract',
	object: 'event',
	type: 'checkout.session.completed',
	created: 1,
	data: { object: { id: 'cs_1' } },
});

describe('Stripe signatures agree with the official SDK', () => {
	const stripe = new Stripe('sk_test_contract');

	it('verifies what stripe.webhooks.generateTestHeaderString signs', () => {
		const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
		expect(
			verifyStripeSignature(
				{ rawBody: Buffer.from(payload), headers: { 'stripe-signature': header }, query: {} },
				STRIPE_SECRET,
				Date.now(),
			),
		).toEqual({ ok: true });
	});

	it('signs what stripe.webhooks.constructEvent accepts, and both reject a tampered body', () => {
		const header = signStripePayload(payload, STRIPE_SECRET, Math.floor(Date.now() / 1000));
		expect(stripe.webhooks.constructEvent(payload, header, STRIPE_SECRET).id).toBe('evt_contract');
		const tampered = payload.replace('cs_1', 'cs_2');
		expect(() => stripe.webhooks.constructEvent(tampered, header, STRIPE_SECRET)).toThrow();
		expect(
			verifyStripeSignature(
				{ rawBody: Buffer.from(tampered), headers: { 'stripe-signature': header }, query: {} },
				STRIPE_SECRET,
				Date.now(),
			).ok,
		).toBe(false);
	});

	it('both reject a signature older than 300 s', () => {
		const old = Math.floor(Date.now() / 1000) - 301;
		const header = stripe.webhooks.generateTestHeaderString({
			payload,
			secret: STRIPE_SECRET,
			timestamp: old,
		});
		expect(() => stripe.webhooks.constructEvent(payload, header, STRIPE_SECRET)).toThrow(
			/tolerance/,
		);
		expect(
			verifyStripeSignature(
				{ rawBody: Buffer.from(payload), headers: { 'stripe-signature': header }, query: {} },
				STRIPE_SECRET,
				Date.now(),
			).ok,
		).toBe(false);
	});
});

describe('the Stripe stand-in answers the official Stripe client', () => {
	it('creates a Checkout Session with the official SDK and reads it back', async () => {
		const stripe = new Stripe(keys.stripe.secretKey, {
			host: '127.0.0.1',
			port: standIn.port,
			protocol: 'http',
			maxNetworkRetries: 0,
		});
		const session = await stripe.checkout.sessions.create({
			mode: 'payment',
			line_items: [
				{
					quantity: 1,
					price_data: { currency: 'brl', unit_amount: 19990, product_data: { name: 'Curso' } },
				},
			],
			success_url: 'https://shop.example/ok',
			cancel_url: 'https://shop.example/cancel',
			customer_email: 'jose@example.com',
			client_reference_id: 'lead-sdk-1',
			expires_at: Math.floor(Date.now() / 1000) + 3600,
		});
		expect(session).toMatchObject({
			object: 'checkout.session',
			client_reference_id: 'lead-sdk-1',
			customer_email: 'jose@example.com',
			amount_total: 19990,
			currency: 'brl',
			status: 'open',
		});
		expect(session.url).toMatch(new RegExp(`^${standIn.baseUrl}/pay/stripe/cs_test_`));
		const again = await stripe.checkout.sessions.retrieve(session.id);
		expect(again.id).toBe(session.id);
		await expect(stripe.checkout.sessions.retrieve('cs_missing')).rejects.toMatchObject({
			type: 'StripeInvalidRequestError',
			statusCode: 404,
		});
		await expect(
			new Stripe('sk_test_wrong', {
				host: '127.0.0.1',
				port: standIn.port,
				protocol: 'http',
				maxNetworkRetries: 0,
			}).balance.retrieve(),
		).rejects.toMatchObject({ statusCode: 401 });
	});
});

describe('Mercado Pago signatures agree with the official WebhookSignatureValidator', () => {
	const secret = 'mp-secret';
	const ts = String(Math.floor(Date.now() / 1000));
	const sdkAccepts = (xSignature: string, xRequestId: string, dataId: string) => {
		try {
			// The SDK leaves lower-casing to the caller, as the docs say: pass what the docs prescribe.
			WebhookSignatureValidator.validate({
				xSignature,
				xRequestId,
				dataId: /^[a-z0-9]+$/i.test(dataId) ? dataId.toLowerCase() : dataId,
				secret,
			});
			return true;
		} catch {
			return false;
		}
	};
	const oursAccepts = (xSignature: string, xRequestId: string, dataId: string) =>
		verifyMercadoPagoSignature(
			{
				rawBody: Buffer.from('{}'),
				headers: { 'x-signature': xSignature, 'x-request-id': xRequestId },
				query: { 'data.id': dataId },
			},
			secret,
		).ok;

	const good = signMercadoPago('123456789', 'req-1', ts, secret);
	const vectors: Array<[string, string, string, string, boolean]> = [
		['valid', good, 'req-1', '123456789', true],
		[
			'upper-case alphanumeric id, signed lower-cased',
			signMercadoPago('ABC123', 'req-1', ts, secret),
			'req-1',
			'ABC123',
			true,
		],
		[
			'wrong secret',
			signMercadoPago('123456789', 'req-1', ts, 'other'),
			'req-1',
			'123456789',
			false,
		],
		['tampered id', good, 'req-1', '123456780', false],
		['tampered request id', good, 'req-2', '123456789', false],
		['tampered ts', good.replace(`ts=${ts}`, `ts=${Number(ts) + 1}`), 'req-1', '123456789', false],
		['no ts', good.replace(`ts=${ts},`, ''), 'req-1', '123456789', false],
		['no v1', `ts=${ts}`, 'req-1', '123456789', false],
		['not a number ts', good.replace(`ts=${ts}`, 'ts=abc'), 'req-1', '123456789', false],
		['empty header', '', 'req-1', '123456789', false],
	];
	it.each(vectors)('%s', (_name, header, requestId, dataId, expected) => {
		expect(sdkAccepts(header, requestId, dataId)).toBe(expected);
		expect(oursAccepts(header, requestId, dataId)).toBe(expected);
	});
});

describe('the stand-ins answer our provider requests', () => {
	const request: PaymentLinkRequest = {
		leadRef: 'lead-contract-1',
		buyer: {
			name: 'Maria Conceição',
			email: 'maria@example.com',
			phone: '+5511987654321',
			document: '52998224725',
		},
		items: [{ name: 'Curso', quantity: 2, unitAmount: 9995 }],
		currency: 'BRL',
		successUrl: 'https://shop.example/ok',
		cancelUrl: 'https://shop.example/cancel',
		expiresAt: new Date(Date.now() + 3_600_000),
		notificationUrl: 'http://127.0.0.1:9/mp',
	};
	const auth = {
		stripe: { authorization: `Bearer ${keys.stripe.secretKey}` },
		mercadopago: { authorization: `Bearer ${keys.mercadopago.accessToken}` },
		asaas: { access_token: keys.asaas.apiKey },
	};
	async function send(
		provider: keyof typeof auth,
		spec: HttpRequestSpec,
	): Promise<{ status: number; body: unknown }> {
		const url = new URL(spec.path, standIn.baseUrl);
		for (const [k, v] of Object.entries(spec.qs ?? {})) url.searchParams.set(k, v);
		const headers: Record<string, string> = { ...auth[provider], ...spec.headers };
		let body: string | undefined;
		if (spec.form) {
			body = new URLSearchParams(spec.form).toString();
			headers['content-type'] = 'application/x-www-form-urlencoded';
		} else if (spec.json !== undefined) {
			body = JSON.stringify(spec.json);
			headers['content-type'] = 'application/json';
		}
		const res = await fetch(url, { method: spec.method, headers, body });
		return { status: res.status, body: await res.json() };
	}

	it.each(['stripe', 'mercadopago', 'asaas'] as const)(
		'%s: the link opens a checkout page with the buyer prefilled; retries are idempotent',
		async (provider) => {
			const gateway = PROVIDERS[provider];
			const options = { checkoutPageUrl: standIn.baseUrl };
			const first = await send(provider, gateway.createPaymentLink(request, options));
			expect(first.status).toBeLessThan(300);
			const link = gateway.parsePaymentLink(first.body, request, options);
			const again = gateway.parsePaymentLink(
				(await send(provider, gateway.createPaymentLink(request, options))).body,
				request,
				options,
			);
			expect(again.providerId).toBe(link.providerId);
			const page = await (await fetch(link.redirectUrl)).text();
			expect(page).toContain('maria@example.com');
			expect(page).toContain('BRL 199.90');
			if (provider !== 'stripe') {
				expect(page).toContain('Maria Conceição');
				expect(page).toContain('52998224725');
			}
			const unauthorised = await fetch(
				new URL(gateway.createPaymentLink(request, options).path, standIn.baseUrl),
				{ method: 'POST', body: '{}' },
			);
			expect(unauthorised.status).toBe(401);
		},
	);
});
