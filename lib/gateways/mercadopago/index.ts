/**
 * Mercado Pago: Checkout Pro preferences (payer prefilled, CPF included), payments, and webhook
 * verification of `x-signature: ts=…,v1=…` over the manifest `id:{data.id};request-id:{x-request-id};ts:{ts};`
 * with data.id taken from the query string (lower-cased when alphanumeric). Notifications carry no
 * status: a verified payment notification is archived as received, carrying the signed payment id to
 * confirm, and the processor reads the payment (confirmEvent) before it may change a deal.
 */
import { GATEWAY_BODY_LIMITS, UntrustedInputError, parseJsonSafely } from '../../http/untrusted';
import { hmacSha256Hex, idempotencyKey, safeEqual } from '../crypto';
import { toMajorUnits, toMinorUnits } from '../money';
import {
	GatewayError,
	type EventType,
	type GatewayProvider,
	type HttpRequestSpec,
	type NormalisedEvent,
	type PaymentStatus,
	type VerifyOutcome,
	type WebhookInput,
} from '../types';

interface MpPayment {
	id: number | string;
	status: string;
	status_detail?: string;
	external_reference?: string | null;
	transaction_amount?: number;
	currency_id?: string;
	date_created?: string;
	date_last_updated?: string;
}

export function manifestFor(
	dataId: string | undefined,
	requestId: string | undefined,
	ts: string | undefined,
): string {
	let manifest = '';
	if (dataId) manifest += `id:${/^[a-z0-9]+$/i.test(dataId) ? dataId.toLowerCase() : dataId};`;
	if (requestId) manifest += `request-id:${requestId};`;
	if (ts) manifest += `ts:${ts};`;
	return manifest;
}

export function signMercadoPago(
	dataId: string,
	requestId: string,
	ts: string,
	secret: string,
): string {
	return `ts=${ts},v1=${hmacSha256Hex(secret, manifestFor(dataId, requestId, ts))}`;
}

/** The data.id the signature's manifest covers: from the query string, as Mercado Pago signs it. */
export function signedDataIdOf(input: WebhookInput): string | undefined {
	return input.query['data.id'] ?? input.query.id;
}

function validTime(text: unknown): string {
	const ms = typeof text === 'string' ? Date.parse(text) : NaN;
	return new Date(Number.isFinite(ms) ? ms : Date.now()).toISOString();
}

export function verifyMercadoPagoSignature(
	input: WebhookInput,
	secret: string,
): { ok: true } | { ok: false; reason: string } {
	const header = input.headers['x-signature'];
	if (!header) return { ok: false, reason: 'missing x-signature header' };
	if (!secret) return { ok: false, reason: 'no webhook secret configured' };
	let ts: string | undefined;
	const v1: string[] = [];
	for (const part of header.split(',')) {
		const [key, ...rest] = part.split('=');
		const value = rest.join('=').trim();
		if (key.trim() === 'ts') ts = value;
		if (key.trim() === 'v1') v1.push(value);
	}
	if (!ts) return { ok: false, reason: 'x-signature has no ts' };
	if (!/^\d+$/.test(ts)) return { ok: false, reason: 'x-signature ts is not a number' };
	if (v1.length === 0) return { ok: false, reason: 'x-signature has no v1' };
	const dataId = signedDataIdOf(input);
	const expected = hmacSha256Hex(secret, manifestFor(dataId, input.headers['x-request-id'], ts));
	if (!v1.map((c) => safeEqual(c, expected)).includes(true)) {
		return {
			ok: false,
			reason:
				'v1 does not match the manifest (data.id from the query, x-request-id, ts) and the secret',
		};
	}
	// No freshness window: Mercado Pago documents none and its ts unit varies (s or ms) between products.
	return { ok: true };
}

function statusOf(p: MpPayment): EventType {
	switch (p.status) {
		case 'approved':
			return 'paid';
		case 'pending':
		case 'in_process':
		case 'authorized':
			return 'pending';
		case 'rejected':
			return 'failed';
		case 'cancelled':
			return p.status_detail === 'expired' ? 'expired' : 'failed';
		case 'refunded':
		case 'charged_back':
			return 'refunded';
		default:
			return 'other';
	}
}

export function paymentToEvent(body: unknown, notificationAction: string): NormalisedEvent {
	const p = body as MpPayment;
	if (!p || p.id === undefined || typeof p.status !== 'string')
		throw new GatewayError('Mercado Pago answered without a payment id and status');
	return {
		// One event per payment status: a repeated notification for the same status is the same event.
		eventId: `mp-${p.id}-${p.status}`,
		type: statusOf(p),
		leadRef: p.external_reference ?? undefined,
		providerRef: String(p.id),
		amount: p.transaction_amount !== undefined ? toMinorUnits(p.transaction_amount) : undefined,
		currency: p.currency_id,
		occurredAt: new Date(p.date_last_updated ?? p.date_created ?? Date.now()).toISOString(),
		provider: 'mercadopago',
		providerEventType: `${notificationAction}:${p.status}${p.status_detail ? `/${p.status_detail}` : ''}`,
		raw: p,
	};
}

function splitName(name: string): { name: string; surname: string } {
	const parts = name.trim().split(/\s+/);
	return { name: parts[0] ?? '', surname: parts.slice(1).join(' ') };
}

function phoneParts(e164: string | undefined): { area_code: string; number: string } | undefined {
	const m = e164 ? /^\+55(\d{2})(\d{8,9})$/.exec(e164) : null;
	return m ? { area_code: m[1], number: m[2] } : undefined;
}

/**
 * The notification URL of one checkout: the intake's, with our lead id in `lead`. Mercado Pago adds its
 * own parameters to it; the lead only routes the notification to its lead's partition (the payment's
 * record decides the effect, see NormalisedEvent.partitionKey).
 */
export function notificationUrlFor(notificationUrl: string, leadRef: string): string {
	const url = new URL(notificationUrl);
	url.searchParams.set('lead', leadRef);
	return url.toString();
}

/** A routing lead from the query, when it looks like one (a lead id is short and plain). */
function routedLead(value: string | undefined): string | undefined {
	return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}

export const mercadoPagoProvider: GatewayProvider = {
	id: 'mercadopago',
	displayName: 'Mercado Pago',
	credentialType: 'checkoutMercadoPagoApi',
	webhookSecretField: 'webhookSecret',

	createPaymentLink(req) {
		if (req.items.length === 0) throw new GatewayError('at least one item is required');
		const doc = req.buyer.document;
		const json = {
			items: req.items.map((item, i) => ({
				id: item.sku ?? `item-${i + 1}`,
				title: item.name,
				quantity: item.quantity,
				currency_id: req.currency,
				unit_price: toMajorUnits(item.unitAmount),
			})),
			payer: {
				...splitName(req.buyer.name),
				email: req.buyer.email,
				phone: phoneParts(req.buyer.phone),
				identification: doc ? { type: doc.length === 14 ? 'CNPJ' : 'CPF', number: doc } : undefined,
				address: req.buyer.address
					? {
							street_name: req.buyer.address.street,
							street_number: req.buyer.address.number,
							zip_code: req.buyer.address.postalCode,
						}
					: undefined,
			},
			external_reference: req.leadRef,
			metadata: { lead_id: req.leadRef },
			notification_url: req.notificationUrl
				? notificationUrlFor(req.notificationUrl, req.leadRef)
				: undefined,
			back_urls: { success: req.successUrl, pending: req.successUrl, failure: req.cancelUrl },
			auto_return: 'approved',
			...(req.expiresAt ? { expires: true, expiration_date_to: req.expiresAt.toISOString() } : {}),
		};
		return {
			method: 'POST',
			path: '/checkout/preferences',
			json,
			headers: { 'X-Idempotency-Key': idempotencyKey('preference', req) },
		};
	},

	parsePaymentLink(body, _req, options) {
		const p = body as {
			id?: string;
			init_point?: string;
			sandbox_init_point?: string;
			expiration_date_to?: string;
		};
		const url = options.sandbox === 'true' ? p?.sandbox_init_point : p?.init_point;
		if (!p?.id || !url)
			throw new GatewayError('Mercado Pago answered without a preference id and init_point');
		return {
			provider: 'mercadopago',
			providerId: p.id,
			redirectUrl: url,
			expiresAt: p.expiration_date_to,
		};
	},

	getPayment(by): HttpRequestSpec {
		if (by.providerId)
			return { method: 'GET', path: `/v1/payments/${encodeURIComponent(by.providerId)}` };
		if (by.leadRef) {
			return {
				method: 'GET',
				path: '/v1/payments/search',
				qs: { external_reference: by.leadRef, sort: 'date_created', criteria: 'desc' },
			};
		}
		throw new GatewayError('give a payment id or a lead reference');
	},

	parsePayment(body): PaymentStatus {
		const found = (body as { results?: MpPayment[] }).results;
		const p = Array.isArray(found) ? found[0] : (body as MpPayment);
		if (!p) throw new GatewayError('Mercado Pago has no payment for this reference yet');
		const event = paymentToEvent(p, 'get');
		return {
			provider: 'mercadopago',
			providerId: String(p.id),
			status: event.type,
			providerStatus: p.status,
			leadRef: event.leadRef,
			amount: event.amount,
			currency: event.currency,
			raw: p,
		};
	},

	verifyWebhook(input, secret): VerifyOutcome {
		const check = verifyMercadoPagoSignature(input, secret);
		if (!check.ok) return check;
		let body: {
			id?: number | string;
			type?: string;
			action?: string;
			data?: { id?: string };
			date_created?: string;
		};
		try {
			body = parseJsonSafely(input.rawBody.toString('utf8'), GATEWAY_BODY_LIMITS) as typeof body;
		} catch (error) {
			return {
				ok: false,
				reason: error instanceof UntrustedInputError ? error.message : 'body is not JSON',
			};
		}
		// Only what the signature covers identifies the payment: the manifest's data.id (from the query)
		// and x-request-id. The body is not signed, so its data.id may only agree with the signed one.
		const signedId = signedDataIdOf(input);
		const bodyId = body.data?.id === undefined ? undefined : String(body.data.id);
		if (body.type === 'payment') {
			if (!signedId)
				return {
					ok: false,
					reason:
						'a payment notification whose signature covers no data.id (send it in the query string)',
				};
			if (bodyId !== undefined && bodyId.toLowerCase() !== signedId.toLowerCase())
				return { ok: false, reason: 'data.id in the body differs from the signed one' };
		}
		const requestId = input.headers['x-request-id'];
		const routeBy = routedLead(input.query.lead);
		return {
			ok: true,
			event: {
				// One archive entry per signed delivery: a replayed request is a duplicate.
				eventId: `mp-notification-${signedId ?? 'none'}-${requestId ?? 'none'}`,
				type: 'other',
				providerRef: signedId,
				occurredAt: validTime(body.date_created),
				provider: 'mercadopago',
				providerEventType: body.action ?? body.type ?? 'unknown',
				...(body.type === 'payment' && signedId ? { confirm: { paymentId: signedId } } : {}),
				...(routeBy ? { partitionKey: routeBy } : {}),
				raw: body,
			},
		};
	},

	confirmEvent(event, payment) {
		const p = payment as MpPayment;
		const wanted = event.confirm?.paymentId;
		if (!wanted || String(p?.id).toLowerCase() !== wanted.toLowerCase()) {
			throw new GatewayError(
				`Mercado Pago answered with payment ${String(p?.id)} for notification of payment ${String(wanted)}`,
			);
		}
		return paymentToEvent(p, event.providerEventType);
	},
};
