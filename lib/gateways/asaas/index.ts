/**
 * Asaas: Checkout sessions with the buyer prefilled (customerData), payments, and webhook
 * authentication by the static token Asaas sends in `asaas-access-token` (Asaas signs nothing).
 */
import { idempotencyKey, safeEqual } from '../crypto';
import { toMajorUnits, toMinorUnits } from '../money';
import { normaliseJsonBody } from '../body';
import {
	GatewayError,
	type EventType,
	type GatewayProvider,
	type HttpRequestSpec,
	type NormalisedEvent,
	type PaymentStatus,
	type VerifyOutcome,
} from '../types';

interface AsaasPayment {
	id: string;
	status?: string;
	value?: number;
	externalReference?: string | null;
	dateCreated?: string;
}

interface AsaasEvent {
	id: string;
	event: string;
	dateCreated?: string;
	payment?: AsaasPayment;
	checkout?: { id: string; externalReference?: string | null; status?: string };
}

const EVENT_TYPES: Record<string, EventType> = {
	PAYMENT_RECEIVED: 'paid',
	PAYMENT_CONFIRMED: 'paid',
	CHECKOUT_PAID: 'paid',
	PAYMENT_CREATED: 'pending',
	PAYMENT_AWAITING_RISK_ANALYSIS: 'pending',
	CHECKOUT_CREATED: 'pending',
	PAYMENT_OVERDUE: 'expired',
	CHECKOUT_EXPIRED: 'expired',
	PAYMENT_CREDIT_CARD_CAPTURE_REFUSED: 'failed',
	PAYMENT_REPROVED_BY_RISK_ANALYSIS: 'failed',
	CHECKOUT_CANCELED: 'failed',
	PAYMENT_REFUNDED: 'refunded',
	PAYMENT_PARTIALLY_REFUNDED: 'refunded',
	PAYMENT_CHARGEBACK_REQUESTED: 'refunded',
};

const PAYMENT_STATUSES: Record<string, EventType> = {
	RECEIVED: 'paid',
	CONFIRMED: 'paid',
	RECEIVED_IN_CASH: 'paid',
	PENDING: 'pending',
	AWAITING_RISK_ANALYSIS: 'pending',
	OVERDUE: 'expired',
	REFUNDED: 'refunded',
	REFUND_REQUESTED: 'refunded',
	REFUND_IN_PROGRESS: 'refunded',
	CHARGEBACK_REQUESTED: 'refunded',
	CHARGEBACK_DISPUTE: 'refunded',
	AWAITING_CHARGEBACK_REVERSAL: 'refunded',
};

/** Asaas writes local Brazilian time without a zone ("2024-06-12 16:45:03"). */
export function asaasTime(text: string | undefined): string {
	if (!text) return new Date().toISOString();
	const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(text);
	return new Date(m ? `${m[1]}T${m[2]}-03:00` : text).toISOString();
}

export function normaliseAsaasEvent(body: unknown): NormalisedEvent {
	const e = body as AsaasEvent;
	if (!e || typeof e.id !== 'string' || typeof e.event !== 'string')
		throw new GatewayError('not an Asaas event (id and event are required)');
	const subject = e.payment ?? e.checkout;
	const type = EVENT_TYPES[e.event] ?? 'other';
	const leadRef = subject?.externalReference ?? undefined;
	// Asaas signs nothing: whoever holds the token could claim anything. Every event of a pack lead is
	// confirmed against the payment's record before it may change a deal (by the payment it names, or by
	// the lead's payments for a checkout event); an event of no lead changes nothing and needs no read.
	const confirm = e.payment?.id ? { paymentId: e.payment.id } : leadRef ? { leadRef } : undefined;
	return {
		eventId: e.id,
		type,
		leadRef,
		providerRef: subject?.id,
		amount: e.payment?.value !== undefined ? toMinorUnits(e.payment.value) : undefined,
		currency: 'BRL',
		occurredAt: asaasTime(e.dateCreated),
		provider: 'asaas',
		providerEventType: e.event,
		...(confirm ? { confirm } : {}),
		raw: e,
	};
}

const MONEY: ReadonlySet<EventType> = new Set(['paid', 'refunded']);

/**
 * The event as Asaas' record of the payment says. Money (paid, refunded) is the record's word: a claim of
 * money the record does not back fails, so the message is retried (the record may lag) and finally
 * dead-lettered with the reason, where a forged claim is seen. A partial refund keeps its refund (the
 * record of a partly refunded payment still reads received). A claim of no money (a refusal, an expiry)
 * keeps its type unless the record shows money, and stands as claimed when the lead has no payment at all.
 */
export function confirmAsaasEvent(event: NormalisedEvent, answer: unknown): NormalisedEvent {
	const wanted = event.confirm ?? {};
	const { confirm: _done, ...claim } = event;
	const list = (answer as { data?: AsaasPayment[] } | undefined)?.data;
	let record: AsaasPayment | undefined;
	if (wanted.paymentId) {
		record = answer as AsaasPayment | undefined;
		if (!record?.id) throw new GatewayError(`Asaas has no payment ${wanted.paymentId} yet`);
		if (record.id !== wanted.paymentId)
			throw new GatewayError(
				`Asaas answered with payment ${record.id} for event of payment ${wanted.paymentId}`,
			);
	} else {
		const mine = (Array.isArray(list) ? list : []).filter(
			(p) => (p.externalReference ?? undefined) === wanted.leadRef,
		);
		const typeOf = (p: AsaasPayment) => PAYMENT_STATUSES[p.status ?? ''] ?? 'other';
		record =
			mine.find((p) => typeOf(p) === event.type) ??
			mine.find((p) => typeOf(p) === 'paid') ??
			mine.find((p) => MONEY.has(typeOf(p))) ??
			mine[0];
		if (!record) {
			if (MONEY.has(event.type))
				throw new GatewayError(`Asaas has no payment for lead ${String(wanted.leadRef)} yet`);
			return { ...claim, amount: undefined };
		}
	}
	const recorded = PAYMENT_STATUSES[record.status ?? ''] ?? 'other';
	let type: EventType;
	if (
		event.type === 'refunded' &&
		event.providerEventType === 'PAYMENT_PARTIALLY_REFUNDED' &&
		(recorded === 'paid' || recorded === 'refunded')
	)
		type = 'refunded';
	else if (MONEY.has(recorded)) type = recorded;
	else if (MONEY.has(event.type))
		throw new GatewayError(
			`Asaas' record of payment ${record.id} says ${record.status ?? 'nothing'}, not what ${event.providerEventType} claims`,
		);
	else type = event.type;
	return {
		...claim,
		type,
		leadRef: record.externalReference ?? undefined,
		providerRef: record.id,
		amount: record.value !== undefined ? toMinorUnits(record.value) : undefined,
		currency: 'BRL',
		providerEventType:
			type === event.type
				? event.providerEventType
				: `${event.providerEventType} (recorded ${record.status ?? 'unknown'})`,
	};
}

export const asaasProvider: GatewayProvider = {
	id: 'asaas',
	displayName: 'Asaas',
	credentialType: 'checkoutAsaasApi',
	// Asaas signs nothing: its webhooks carry the static token set on the webhook in Asaas.
	webhookSecretField: 'webhookToken',

	createPaymentLink(req, options) {
		if (req.items.length === 0) throw new GatewayError('at least one item is required');
		if (req.currency !== 'BRL')
			throw new GatewayError(`Asaas charges in BRL only, not ${req.currency}`);
		const minutes = req.expiresAt
			? Math.max(1, Math.round((req.expiresAt.getTime() - Date.now()) / 60_000))
			: 60;
		const b = req.buyer;
		const json = {
			billingTypes: (options.billingTypes ?? 'PIX,CREDIT_CARD').split(',').map((t) => t.trim()),
			chargeTypes: ['DETACHED'],
			minutesToExpire: minutes,
			callback: { successUrl: req.successUrl, cancelUrl: req.cancelUrl, expiredUrl: req.cancelUrl },
			items: req.items.map((item) => ({
				name: item.name,
				description: item.name,
				quantity: item.quantity,
				value: toMajorUnits(item.unitAmount),
			})),
			customerData: {
				name: b.name,
				email: b.email,
				cpfCnpj: b.document,
				phone: b.phone?.replace(/^\+55/, ''),
				address: b.address?.street,
				addressNumber: b.address?.number,
				complement: b.address?.complement,
				postalCode: b.address?.postalCode,
				province: b.address?.district,
			},
			externalReference: req.leadRef,
		};
		return {
			method: 'POST',
			path: '/v3/checkouts',
			json,
			headers: { 'X-Idempotency-Key': idempotencyKey('checkout', req) },
		};
	},

	parsePaymentLink(body, req, options) {
		const c = body as { id?: string; link?: string };
		if (!c?.id) throw new GatewayError('Asaas answered without a checkout id');
		const page = (options.checkoutPageUrl || 'https://asaas.com').replace(/\/+$/, '');
		const expires = req.expiresAt?.toISOString();
		return {
			provider: 'asaas',
			providerId: c.id,
			redirectUrl: c.link ?? `${page}/checkoutSession/show?id=${encodeURIComponent(c.id)}`,
			expiresAt: expires,
		};
	},

	getPayment(by): HttpRequestSpec {
		if (by.providerId)
			return { method: 'GET', path: `/v3/payments/${encodeURIComponent(by.providerId)}` };
		if (by.leadRef)
			return { method: 'GET', path: '/v3/payments', qs: { externalReference: by.leadRef } };
		throw new GatewayError('give a payment id or a lead reference');
	},

	parsePayment(body): PaymentStatus {
		const list = (body as { data?: AsaasPayment[] }).data;
		const p = Array.isArray(list) ? list[0] : (body as AsaasPayment);
		if (!p?.id) throw new GatewayError('Asaas has no payment for this reference yet');
		return {
			provider: 'asaas',
			providerId: p.id,
			status: PAYMENT_STATUSES[p.status ?? ''] ?? 'other',
			providerStatus: p.status ?? 'unknown',
			leadRef: p.externalReference ?? undefined,
			amount: p.value !== undefined ? toMinorUnits(p.value) : undefined,
			currency: 'BRL',
			raw: p,
		};
	},

	verifyWebhook(input, secret): VerifyOutcome {
		const token = input.headers['asaas-access-token'];
		if (!token) return { ok: false, reason: 'missing asaas-access-token header' };
		if (!secret) return { ok: false, reason: 'no webhook authentication token configured' };
		if (!safeEqual(token, secret))
			return { ok: false, reason: 'asaas-access-token does not match' };
		return normaliseJsonBody(input.rawBody, normaliseAsaasEvent);
	},

	confirmEvent: confirmAsaasEvent,
};
