/**
 * Stripe: Checkout Sessions (form-encoded API), the static Payment Link prefill, and webhook
 * verification of `Stripe-Signature: t=…,v1=…[,v1=…]` over `{t}.{raw body}` with the endpoint secret.
 */
import { hmacSha256Hex, idempotencyKey, safeEqual } from '../crypto';
import { normaliseJsonBody } from '../body';
import {
	GatewayError,
	type EventType,
	type GatewayProvider,
	type HttpRequestSpec,
	type NormalisedEvent,
	type PaymentLink,
	type PaymentLinkRequest,
	type PaymentStatus,
	type VerifyOutcome,
	type WebhookInput,
} from '../types';

export const STRIPE_TOLERANCE_SECONDS = 300;

interface StripeObject {
	id?: string;
	object?: string;
	client_reference_id?: string | null;
	metadata?: Record<string, string> | null;
	amount_total?: number | null;
	amount?: number | null;
	amount_refunded?: number | null;
	currency?: string | null;
	payment_status?: string;
	status?: string;
	url?: string | null;
	expires_at?: number;
}

interface StripeEvent {
	id: string;
	type: string;
	created: number;
	data: { object: StripeObject };
}

export function parseSignatureHeader(header: string): { timestamp?: number; v1: string[] } {
	const out: { timestamp?: number; v1: string[] } = { v1: [] };
	for (const part of header.split(',')) {
		const eq = part.indexOf('=');
		if (eq < 0) continue;
		const key = part.slice(0, eq).trim();
		const value = part.slice(eq + 1).trim();
		if (key === 't' && /^\d+$/.test(value)) out.timestamp = Number(value);
		if (key === 'v1') out.v1.push(value);
	}
	return out;
}

/** The header Stripe would send for this payload (tests and the stand-in sign with it). */
export function signStripePayload(
	payload: string | Buffer,
	secret: string,
	timestamp: number,
): string {
	return `t=${timestamp},v1=${hmacSha256Hex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), Buffer.from(payload)]))}`;
}

export function verifyStripeSignature(
	input: WebhookInput,
	secret: string,
	nowMs: number,
): { ok: true } | { ok: false; reason: string } {
	const header = input.headers['stripe-signature'];
	if (!header) return { ok: false, reason: 'missing Stripe-Signature header' };
	if (!secret) return { ok: false, reason: 'no webhook signing secret configured' };
	const { timestamp, v1 } = parseSignatureHeader(header);
	if (timestamp === undefined)
		return { ok: false, reason: 'Stripe-Signature has no timestamp (t=)' };
	if (v1.length === 0) return { ok: false, reason: 'Stripe-Signature has no v1 signature' };
	const expected = hmacSha256Hex(
		secret,
		Buffer.concat([Buffer.from(`${timestamp}.`), input.rawBody]),
	);
	// Check every v1 (secret rotation sends several); compare all so timing does not tell which matched.
	const matched = v1.map((candidate) => safeEqual(candidate, expected)).includes(true);
	if (!matched)
		return { ok: false, reason: 'no v1 signature matches the body and the signing secret' };
	const age = Math.floor(nowMs / 1000) - timestamp;
	if (age > STRIPE_TOLERANCE_SECONDS)
		return {
			ok: false,
			reason: `timestamp is ${age} s old (tolerance ${STRIPE_TOLERANCE_SECONDS} s)`,
		};
	// Stripe's SDK checks only age; a timestamp far in the future is as suspicious as a stale one.
	if (age < -STRIPE_TOLERANCE_SECONDS)
		return {
			ok: false,
			reason: `timestamp is ${-age} s in the future (tolerance ${STRIPE_TOLERANCE_SECONDS} s)`,
		};
	return { ok: true };
}

function eventType(event: StripeEvent): EventType {
	const o = event.data.object;
	switch (event.type) {
		case 'checkout.session.completed':
			return o.payment_status === 'unpaid' ? 'pending' : 'paid';
		case 'checkout.session.async_payment_succeeded':
		case 'payment_intent.succeeded':
			return 'paid';
		case 'checkout.session.async_payment_failed':
		case 'payment_intent.payment_failed':
			return 'failed';
		case 'checkout.session.expired':
			return 'expired';
		case 'charge.refunded':
			return 'refunded';
		case 'payment_intent.processing':
			return 'pending';
		default:
			return 'other';
	}
}

export function normaliseStripeEvent(body: unknown): NormalisedEvent {
	const event = body as StripeEvent;
	if (
		!event ||
		typeof event.id !== 'string' ||
		typeof event.type !== 'string' ||
		!event.data?.object
	) {
		throw new GatewayError('not a Stripe event (id, type and data.object are required)');
	}
	const o = event.data.object;
	return {
		eventId: event.id,
		type: eventType(event),
		leadRef: o.client_reference_id ?? o.metadata?.lead_id ?? undefined,
		providerRef: o.id,
		amount: o.amount_total ?? o.amount ?? undefined,
		currency: o.currency ? o.currency.toUpperCase() : undefined,
		occurredAt: new Date((event.created ?? 0) * 1000).toISOString(),
		provider: 'stripe',
		providerEventType: event.type,
		raw: event,
	};
}

/** The static Payment Link mode: no API call, the buyer's email and our lead id ride in the URL. */
export function prefilledPaymentLinkUrl(
	linkUrl: string,
	req: Pick<PaymentLinkRequest, 'leadRef' | 'buyer'>,
): string {
	const url = new URL(linkUrl);
	url.searchParams.set('prefilled_email', req.buyer.email);
	url.searchParams.set('client_reference_id', req.leadRef);
	return url.toString();
}

export const stripeProvider: GatewayProvider = {
	id: 'stripe',
	displayName: 'Stripe',
	credentialType: 'checkoutStripeApi',
	webhookSecretField: 'webhookSecret',

	staticPaymentLink: prefilledPaymentLinkUrl,

	createPaymentLink(req) {
		if (req.items.length === 0) throw new GatewayError('at least one item is required');
		const form: Record<string, string> = {
			mode: 'payment',
			success_url: req.successUrl,
			cancel_url: req.cancelUrl,
			customer_email: req.buyer.email,
			client_reference_id: req.leadRef,
			'metadata[lead_id]': req.leadRef,
			'payment_intent_data[metadata][lead_id]': req.leadRef,
			// Expired sessions offer a recovery URL (Stripe's abandoned-cart recovery).
			'after_expiration[recovery][enabled]': 'true',
		};
		req.items.forEach((item, i) => {
			form[`line_items[${i}][price_data][currency]`] = req.currency.toLowerCase();
			form[`line_items[${i}][price_data][product_data][name]`] = item.name;
			form[`line_items[${i}][price_data][unit_amount]`] = String(item.unitAmount);
			form[`line_items[${i}][quantity]`] = String(item.quantity);
		});
		if (req.expiresAt) form.expires_at = String(Math.floor(req.expiresAt.getTime() / 1000));
		return {
			method: 'POST',
			path: '/v1/checkout/sessions',
			form,
			// A retried create of the same request returns the same session instead of a second one; a
			// changed request (the buyer corrected the form) gets a key of its own.
			headers: { 'Idempotency-Key': idempotencyKey('checkout-session', req) },
		};
	},

	parsePaymentLink(body): PaymentLink {
		const s = body as StripeObject;
		if (!s?.id || !s.url) throw new GatewayError('Stripe answered without a session id and url');
		return {
			provider: 'stripe',
			providerId: s.id,
			redirectUrl: s.url,
			expiresAt: s.expires_at ? new Date(s.expires_at * 1000).toISOString() : undefined,
		};
	},

	getPayment(by): HttpRequestSpec {
		if (!by.providerId) {
			throw new GatewayError(
				'Stripe cannot look a Checkout Session up by client_reference_id: give the session id (cs_…)',
			);
		}
		return { method: 'GET', path: `/v1/checkout/sessions/${encodeURIComponent(by.providerId)}` };
	},

	parsePayment(body): PaymentStatus {
		const s = body as StripeObject;
		if (!s?.id) throw new GatewayError('Stripe answered without a session id');
		const status: EventType =
			s.payment_status === 'paid' || s.payment_status === 'no_payment_required'
				? 'paid'
				: s.status === 'expired'
					? 'expired'
					: 'pending';
		return {
			provider: 'stripe',
			providerId: s.id,
			status,
			providerStatus: `${s.status}/${s.payment_status}`,
			leadRef: s.client_reference_id ?? undefined,
			amount: s.amount_total ?? undefined,
			currency: s.currency?.toUpperCase(),
			raw: s,
		};
	},

	verifyWebhook(input, secret, nowMs): VerifyOutcome {
		const check = verifyStripeSignature(input, secret, nowMs);
		if (!check.ok) return check;
		return normaliseJsonBody(input.rawBody, normaliseStripeEvent);
	},
};
