import {
	signMercadoPago,
	manifestFor,
	verifyMercadoPagoSignature,
	paymentToEvent,
} from '../../lib/gateways/mercadopago';
import { asaasProvider, asaasTime, normaliseAsaasEvent } from '../../lib/gateways/asaas';
import { confirmEvent, providerFor } from '../../lib/gateways';
import { hmacSha256Hex } from '../../lib/gateways/crypto';
import { parseBuyerAddress } from '../../lib/gateways/address';
import { toMajorUnits, toMinorUnits } from '../../lib/gateways/money';
import {
	normaliseStripeEvent,
	prefilledPaymentLinkUrl,
	signStripePayload,
	stripeProvider,
	verifyStripeSignature,
} from '../../lib/gateways/stripe';
import type { PaymentLinkRequest, WebhookInput } from '../../lib/gateways/types';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const T = Math.floor(NOW / 1000);
const SECRET = 'whsec_test_secret';

function input(
	body: string,
	headers: Record<string, string>,
	query: Record<string, string> = {},
): WebhookInput {
	return { rawBody: Buffer.from(body), headers, query };
}

const stripeEvent = JSON.stringify({
	id: 'evt_1',
	object: 'event',
	type: 'checkout.session.completed',
	created: T - 5,
	data: {
		object: {
			id: 'cs_test_1',
			object: 'checkout.session',
			client_reference_id: 'lead-1',
			amount_total: 19990,
			currency: 'brl',
			payment_status: 'paid',
			status: 'complete',
		},
	},
});

describe('money', () => {
	it.each([
		['R$ 199,90', 19990],
		['199.90', 19990],
		['1.234,56', 123456],
		['1,234.56', 123456],
		['1.234', 123400],
		[199.9, 19990],
		[0.1 + 0.2, 30],
		['10', 1000],
		['0,5', 50],
	])('%s is %i cents', (value, cents) => expect(toMinorUnits(value)).toBe(cents));

	it('refuses what is not an amount and converts back exactly', () => {
		expect(() => toMinorUnits('abc')).toThrow(RangeError);
		expect(toMajorUnits(19990)).toBe(199.9);
		expect(toMajorUnits(1)).toBe(0.01);
	});
});

describe('Stripe signature', () => {
	const sign = (body: string, t = T, secret = SECRET) => signStripePayload(body, secret, t);

	it('accepts a valid signature and normalises the event', () => {
		const outcome = stripeProvider.verifyWebhook(
			input(stripeEvent, { 'stripe-signature': sign(stripeEvent) }),
			SECRET,
			NOW,
		);
		expect(outcome.ok).toBe(true);
		expect(outcome.ok && outcome.event).toMatchObject({
			eventId: 'evt_1',
			type: 'paid',
			leadRef: 'lead-1',
			providerRef: 'cs_test_1',
			amount: 19990,
			currency: 'BRL',
			provider: 'stripe',
			occurredAt: new Date((T - 5) * 1000).toISOString(),
		});
	});

	it.each([
		[
			'tampered body',
			() => input(stripeEvent.replace('19990', '1'), { 'stripe-signature': sign(stripeEvent) }),
			/no v1 signature matches/,
		],
		[
			'wrong secret',
			() => input(stripeEvent, { 'stripe-signature': sign(stripeEvent, T, 'whsec_other') }),
			/no v1 signature matches/,
		],
		[
			'stale timestamp',
			() => input(stripeEvent, { 'stripe-signature': sign(stripeEvent, T - 301) }),
			/301 s old/,
		],
		[
			'future timestamp',
			() => input(stripeEvent, { 'stripe-signature': sign(stripeEvent, T + 301) }),
			/in the future/,
		],
		['missing header', () => input(stripeEvent, {}), /missing Stripe-Signature/],
		['no timestamp', () => input(stripeEvent, { 'stripe-signature': 'v1=abc' }), /no timestamp/],
		['no v1', () => input(stripeEvent, { 'stripe-signature': `t=${T},v0=abc` }), /no v1/],
		[
			'upper-cased hex',
			() =>
				input(stripeEvent, {
					'stripe-signature': sign(stripeEvent)
						.toUpperCase()
						.replace('T=', 't=')
						.replace('V1=', 'v1='),
				}),
			/no v1 signature matches/,
		],
	])('rejects a %s', (_name, make, reason) => {
		const outcome = stripeProvider.verifyWebhook(make(), SECRET, NOW);
		expect(outcome).toEqual({ ok: false, reason: expect.stringMatching(reason) });
	});

	it('accepts when any of several v1 values matches (secret rotation)', () => {
		const good = sign(stripeEvent).split('v1=')[1];
		const header = `t=${T},v1=${'0'.repeat(64)},v1=${good},v0=${'1'.repeat(64)}`;
		expect(
			verifyStripeSignature(input(stripeEvent, { 'stripe-signature': header }), SECRET, NOW),
		).toEqual({ ok: true });
	});

	it('maps Stripe event types to our types', () => {
		const ev = (type: string, object: Record<string, unknown> = {}) =>
			normaliseStripeEvent({ id: 'e', type, created: T, data: { object: { id: 'o', ...object } } })
				.type;
		expect(ev('checkout.session.completed', { payment_status: 'unpaid' })).toBe('pending'); // Pix / boleto
		expect(ev('checkout.session.async_payment_succeeded')).toBe('paid');
		expect(ev('checkout.session.async_payment_failed')).toBe('failed');
		expect(ev('checkout.session.expired')).toBe('expired');
		expect(ev('charge.refunded')).toBe('refunded');
		expect(ev('customer.created')).toBe('other');
	});
});

describe('Mercado Pago signature', () => {
	const ts = '1742505638683';
	const body = JSON.stringify({
		id: 123,
		type: 'payment',
		action: 'payment.updated',
		data: { id: 'ABC123' },
	});

	it('builds the documented manifest, lower-casing alphanumeric ids and omitting missing parts', () => {
		expect(manifestFor('ABC123', 'req-1', ts)).toBe(`id:abc123;request-id:req-1;ts:${ts};`);
		expect(manifestFor('a-B_1', 'req-1', ts)).toBe(`id:a-B_1;request-id:req-1;ts:${ts};`);
		expect(manifestFor(undefined, 'req-1', ts)).toBe(`request-id:req-1;ts:${ts};`);
	});

	it('accepts a valid signature (data.id from the query): archived as a claim naming the signed payment, confirmed by its record', async () => {
		const headers = {
			'x-signature': signMercadoPago('ABC123', 'req-1', ts, SECRET),
			'x-request-id': 'req-1',
		};
		const outcome = providerFor('mercadopago').verifyWebhook(
			input(body, headers, { 'data.id': 'ABC123', type: 'payment' }),
			SECRET,
			NOW,
		);
		const claim = outcome.ok ? outcome.event : undefined;
		expect(claim).toMatchObject({
			eventId: 'mp-notification-ABC123-req-1',
			type: 'other',
			confirm: { paymentId: 'ABC123' },
			providerRef: 'ABC123',
		});
		const asked: unknown[] = [];
		const record = {
			id: 'ABC123',
			status: 'approved',
			external_reference: 'lead-9',
			transaction_amount: 199.9,
			currency_id: 'BRL',
			date_last_updated: '2026-11-27T09:00:00.000-03:00',
		};
		const event = await confirmEvent(
			providerFor('mercadopago'),
			claim!,
			async (spec) => (asked.push(spec), record),
		);
		expect(asked).toEqual([{ method: 'GET', path: '/v1/payments/ABC123' }]);
		expect(event).toMatchObject({
			eventId: 'mp-ABC123-approved',
			type: 'paid',
			leadRef: 'lead-9',
			amount: 19990,
			currency: 'BRL',
			occurredAt: '2026-11-27T12:00:00.000Z',
		});
		expect(event.confirm).toBeUndefined();
		// The gateway answering with another payment than the signed one confirms nothing.
		await expect(
			confirmEvent(providerFor('mercadopago'), claim!, async () => ({ ...record, id: 'OTHER' })),
		).rejects.toThrow(/payment OTHER for notification of payment ABC123/);
	});

	it('resolves only the signed data.id: a body naming another payment, or a signature covering none, is refused', () => {
		const t = '1742505638683';
		const signed = {
			'x-signature': signMercadoPago('ABC123', 'req-1', t, SECRET),
			'x-request-id': 'req-1',
		};
		const other = JSON.stringify({
			id: 1,
			type: 'payment',
			action: 'payment.updated',
			data: { id: 'XYZ999' },
		});
		expect(
			providerFor('mercadopago').verifyWebhook(
				input(other, signed, { 'data.id': 'ABC123' }),
				SECRET,
				NOW,
			),
		).toEqual({ ok: false, reason: expect.stringMatching(/differs from the signed one/) });
		const noId = {
			'x-signature': `ts=${t},v1=${hmacSha256Hex(SECRET, manifestFor(undefined, 'req-1', t))}`,
			'x-request-id': 'req-1',
		};
		expect(providerFor('mercadopago').verifyWebhook(input(body, noId, {}), SECRET, NOW)).toEqual({
			ok: false,
			reason: expect.stringMatching(/covers no data.id/),
		});
	});

	it.each([
		[
			'tampered id in the query',
			{ 'data.id': 'ABC124' },
			{ 'x-request-id': 'req-1' },
			/does not match/,
		],
		['other request id', { 'data.id': 'ABC123' }, { 'x-request-id': 'req-2' }, /does not match/],
		['missing x-signature', { 'data.id': 'ABC123' }, { 'x-signature': '' }, /missing x-signature/],
	])('rejects a %s', (_name, query, headers, reason) => {
		const h = { 'x-signature': signMercadoPago('ABC123', 'req-1', ts, SECRET), ...headers };
		expect(verifyMercadoPagoSignature(input(body, h, query), SECRET)).toEqual({
			ok: false,
			reason: expect.stringMatching(reason),
		});
	});

	it('rejects a wrong secret', () => {
		const headers = {
			'x-signature': signMercadoPago('ABC123', 'req-1', ts, 'other'),
			'x-request-id': 'req-1',
		};
		expect(
			verifyMercadoPagoSignature(input(body, headers, { 'data.id': 'ABC123' }), SECRET).ok,
		).toBe(false);
	});

	it('maps payment statuses, expired Pix included', () => {
		const type = (status: string, status_detail?: string) =>
			paymentToEvent({ id: 1, status, status_detail }, 'x').type;
		expect([
			type('approved'),
			type('in_process'),
			type('rejected'),
			type('cancelled', 'expired'),
			type('cancelled'),
			type('refunded'),
		]).toEqual(['paid', 'pending', 'failed', 'expired', 'failed', 'refunded']);
	});
});

describe('Asaas token', () => {
	const body = JSON.stringify({
		id: 'evt_05b7&368604920',
		event: 'PAYMENT_RECEIVED',
		dateCreated: '2024-06-12 16:45:03',
		payment: { id: 'pay_1', value: 199.9, externalReference: 'lead-7', status: 'RECEIVED' },
	});

	it('accepts the configured token and normalises the event (local Brazilian time)', () => {
		const outcome = asaasProvider.verifyWebhook(
			input(body, { 'asaas-access-token': 'tok_abcdefghijklmnopqrstuvwxyzABCDEF' }),
			'tok_abcdefghijklmnopqrstuvwxyzABCDEF',
			NOW,
		);
		expect(outcome.ok && outcome.event).toMatchObject({
			eventId: 'evt_05b7&368604920',
			type: 'paid',
			leadRef: 'lead-7',
			amount: 19990,
			occurredAt: '2024-06-12T19:45:03.000Z',
		});
	});

	it('rejects a wrong or missing token', () => {
		expect(
			asaasProvider.verifyWebhook(input(body, { 'asaas-access-token': 'nope' }), 'tok_right', NOW),
		).toEqual({ ok: false, reason: 'asaas-access-token does not match' });
		expect(asaasProvider.verifyWebhook(input(body, {}), 'tok_right', NOW)).toEqual({
			ok: false,
			reason: 'missing asaas-access-token header',
		});
	});

	it('an event claiming money is confirmed by the payment record: its status, amount and lead win over the claim', async () => {
		const claim = normaliseAsaasEvent(JSON.parse(body));
		expect(claim.confirm).toEqual({ paymentId: 'pay_1' });
		const read = (record: object) =>
			confirmEvent(
				asaasProvider,
				claim,
				async (spec) => (
					expect(spec).toEqual({ method: 'GET', path: '/v3/payments/pay_1' }),
					record
				),
			);
		// The record says it was paid, for 150,00 to lead-7: that is the event.
		await expect(
			read({ id: 'pay_1', status: 'RECEIVED', value: 150, externalReference: 'lead-7' }),
		).resolves.toMatchObject({
			type: 'paid',
			amount: 15000,
			leadRef: 'lead-7',
			eventId: 'evt_05b7&368604920',
		});
		// Still pending at Asaas: the claimed payment did not happen, and the claim fails (retried, then
		// dead-lettered with this reason, where a forged claim is seen).
		await expect(
			read({ id: 'pay_1', status: 'PENDING', value: 199.9, externalReference: 'lead-7' }),
		).rejects.toThrow(/record of payment pay_1 says PENDING, not what PAYMENT_RECEIVED claims/);
		// Refunded since: the record's money wins.
		await expect(
			read({
				id: 'pay_1',
				status: 'REFUND_IN_PROGRESS',
				value: 199.9,
				externalReference: 'lead-7',
			}),
		).resolves.toMatchObject({ type: 'refunded' });
		// A token holder naming a real payment of another lead moves that payment's lead, not the claimed one.
		await expect(
			read({ id: 'pay_1', status: 'RECEIVED', value: 199.9, externalReference: 'lead-8' }),
		).resolves.toMatchObject({ leadRef: 'lead-8' });
		await expect(read({ id: 'pay_2', status: 'RECEIVED' })).rejects.toThrow(
			/payment pay_2 for event of payment pay_1/,
		);
		// A refusal keeps its type (the record has no status for it) but takes the record's lead and amount.
		const refused = normaliseAsaasEvent({
			id: 'e2',
			event: 'PAYMENT_REPROVED_BY_RISK_ANALYSIS',
			payment: { id: 'pay_1', externalReference: 'lead-7' },
		});
		await expect(
			confirmEvent(asaasProvider, refused, async () => ({
				id: 'pay_1',
				status: 'PENDING',
				value: 10,
				externalReference: 'lead-7',
			})),
		).resolves.toMatchObject({ type: 'failed', amount: 1000 });
	});

	it("a checkout event without a payment id is confirmed by the lead's payments; one of no lead needs no read", async () => {
		const paid = normaliseAsaasEvent({
			id: 'e3',
			event: 'CHECKOUT_PAID',
			checkout: { id: 'chk_1', externalReference: 'lead-7' },
		});
		expect(paid.confirm).toEqual({ leadRef: 'lead-7' });
		const list = {
			object: 'list',
			data: [
				{ id: 'pay_7', status: 'REFUNDED', value: 10, externalReference: 'lead-7' },
				{ id: 'pay_9', status: 'PENDING', externalReference: 'lead-7' },
				{ id: 'pay_8', status: 'CONFIRMED', value: 50, externalReference: 'lead-7' },
			],
		};
		// The payment of the claimed kind is taken, not an older refunded one of the same lead.
		await expect(
			confirmEvent(
				asaasProvider,
				paid,
				async (spec) => (
					expect(spec).toEqual({
						method: 'GET',
						path: '/v3/payments',
						qs: { externalReference: 'lead-7' },
					}),
					list
				),
			),
		).resolves.toMatchObject({ type: 'paid', providerRef: 'pay_8', amount: 5000 });
		await expect(
			confirmEvent(asaasProvider, paid, async () => ({ object: 'list', data: [] })),
		).rejects.toThrow(/no payment for lead lead-7/);
		// An expiry is read too: with no payment at all it stands as claimed; a payment that happened wins.
		const expired = normaliseAsaasEvent({
			id: 'e4',
			event: 'CHECKOUT_EXPIRED',
			checkout: { id: 'chk_1', externalReference: 'lead-7' },
		});
		expect(expired.confirm).toEqual({ leadRef: 'lead-7' });
		await expect(
			confirmEvent(asaasProvider, expired, async () => ({ object: 'list', data: [] })),
		).resolves.toMatchObject({ type: 'expired', leadRef: 'lead-7' });
		await expect(confirmEvent(asaasProvider, expired, async () => list)).resolves.toMatchObject({
			type: 'paid',
		});
		const foreign = normaliseAsaasEvent({
			id: 'e5',
			event: 'CHECKOUT_PAID',
			checkout: { id: 'chk_2' },
		});
		expect(foreign.confirm).toBeUndefined();
	});

	it("a confirmed event keeps the claim's own body and is never dated in the future", async () => {
		const future = normaliseAsaasEvent({
			id: 'e6',
			event: 'PAYMENT_RECEIVED',
			dateCreated: '2099-01-01 00:00:00',
			payment: { id: 'pay_1', externalReference: 'lead-7' },
		});
		const now = Date.parse('2026-12-01T12:00:00Z');
		const confirmed = await confirmEvent(
			asaasProvider,
			future,
			async () => ({
				id: 'pay_1',
				status: 'RECEIVED',
				value: 1,
				externalReference: 'lead-7',
				customer: 'cus_secret',
			}),
			now,
		);
		expect(confirmed.occurredAt).toBe('2026-12-01T12:00:00.000Z');
		expect(confirmed.raw).toBe(future.raw);
		await expect(
			confirmEvent(
				asaasProvider,
				{ ...future, confirm: { paymentId: { toString: () => 'x' } as unknown as string } },
				async () => ({}),
			),
		).rejects.toThrow(/not text/);
	});

	it('maps checkout and payment events', () => {
		const type = (event: string) => normaliseAsaasEvent({ id: 'e', event }).type;
		expect(
			[
				'CHECKOUT_PAID',
				'PAYMENT_OVERDUE',
				'CHECKOUT_EXPIRED',
				'PAYMENT_REPROVED_BY_RISK_ANALYSIS',
				'PAYMENT_REFUNDED',
				'PAYMENT_CREATED',
				'PAYMENT_DELETED',
			].map(type),
		).toEqual(['paid', 'expired', 'expired', 'failed', 'refunded', 'pending', 'other']);
		expect(asaasTime('2026-01-01 00:00:00')).toBe('2026-01-01T03:00:00.000Z');
	});
});

describe('payment link requests', () => {
	const req: PaymentLinkRequest = {
		leadRef: '0192f0c4-lead',
		buyer: {
			name: 'José da Silva Ñandú',
			email: 'jose@example.com',
			phone: '+5511987654321',
			document: '52998224725',
		},
		items: [{ name: 'Curso', quantity: 1, unitAmount: 19990 }],
		currency: 'BRL',
		successUrl: 'https://shop.example/ok',
		cancelUrl: 'https://shop.example/cancel',
		expiresAt: new Date(NOW + 3_600_000),
		notificationUrl: 'https://n8n.example/webhook/mp',
	};

	it('Stripe: a Checkout Session with the buyer, our reference, expiry and recovery, amounts in cents', () => {
		const spec = stripeProvider.createPaymentLink(req, {});
		expect(spec).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions' });
		expect(spec.form).toMatchObject({
			customer_email: 'jose@example.com',
			client_reference_id: req.leadRef,
			'line_items[0][price_data][unit_amount]': '19990',
			'line_items[0][price_data][currency]': 'brl',
			expires_at: String(T + 3600),
			'after_expiration[recovery][enabled]': 'true',
		});
		expect(spec.headers?.['Idempotency-Key']).toBe(
			stripeProvider.createPaymentLink(req, {}).headers?.['Idempotency-Key'],
		);
		expect(prefilledPaymentLinkUrl('https://buy.stripe.com/test_abc', req)).toBe(
			'https://buy.stripe.com/test_abc?prefilled_email=jose%40example.com&client_reference_id=0192f0c4-lead',
		);
	});

	it('Mercado Pago: payer prefilled with CPF and phone, external reference, unit price in reais', () => {
		const spec = providerFor('mercadopago').createPaymentLink(req, {});
		expect(spec.json).toMatchObject({
			items: [{ title: 'Curso', quantity: 1, currency_id: 'BRL', unit_price: 199.9 }],
			payer: {
				name: 'José',
				surname: 'da Silva Ñandú',
				email: 'jose@example.com',
				phone: { area_code: '11', number: '987654321' },
				identification: { type: 'CPF', number: '52998224725' },
			},
			external_reference: req.leadRef,
			// The lead rides in the notification URL: it routes the notification to its lead's partition.
			notification_url: 'https://n8n.example/webhook/mp?lead=0192f0c4-lead',
			expires: true,
		});
	});

	it('the buyer address reaches Mercado Pago (payer.address) and Asaas (customerData); the node refuses an address it cannot pass on', () => {
		const address = parseBuyerAddress(
			'{"postalCode":"01310100","street":"Av. Paulista","number":1000,"complement":"apto 12","district":"Bela Vista","city":"São Paulo","state":"SP"}',
		)!;
		const withAddress = { ...req, buyer: { ...req.buyer, address } };
		expect(providerFor('mercadopago').createPaymentLink(withAddress, {}).json).toMatchObject({
			payer: {
				address: { zip_code: '01310100', street_name: 'Av. Paulista', street_number: '1000' },
			},
		});
		expect(asaasProvider.createPaymentLink(withAddress, {}).json).toMatchObject({
			customerData: {
				postalCode: '01310100',
				address: 'Av. Paulista',
				addressNumber: '1000',
				complement: 'apto 12',
				province: 'Bela Vista',
			},
		});
		expect(parseBuyerAddress(undefined)).toBeUndefined();
		expect(parseBuyerAddress({ city: '' })).toBeUndefined();
		expect(() => parseBuyerAddress({ zip: '01310100' })).toThrow(
			'Buyer Address has unknown field(s) zip; known: street, number, complement, district, city, state, postalCode',
		);
		expect(() => parseBuyerAddress('Av. Paulista, 1000')).toThrow(/must be an object/);
		expect(() => parseBuyerAddress({ street: { name: 'x' } })).toThrow(
			'Buyer Address street must be text',
		);
	});

	it('Asaas: checkout with customerData prefill and a redirect built from the checkout id', () => {
		const spec = asaasProvider.createPaymentLink(req, {});
		expect(spec.json).toMatchObject({
			customerData: { name: req.buyer.name, cpfCnpj: '52998224725', phone: '11987654321' },
			externalReference: req.leadRef,
			items: [{ value: 199.9, quantity: 1 }],
		});
		expect(
			asaasProvider.parsePaymentLink({ id: 'chk_1' }, req, {
				checkoutPageUrl: 'http://127.0.0.1:9/',
			}).redirectUrl,
		).toBe('http://127.0.0.1:9/checkoutSession/show?id=chk_1');
		expect(() => asaasProvider.createPaymentLink({ ...req, currency: 'USD' }, {})).toThrow(
			/BRL only/,
		);
	});
});
