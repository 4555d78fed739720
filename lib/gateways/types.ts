/**
 * One contract for every payment gateway. A provider turns our requests into HTTP request descriptions
 * and the gateway's answers and webhooks into our shapes; it does no I/O itself, so the n8n node sends
 * its requests through n8n's authenticated request helpers and tests send them with fetch.
 */
export type ProviderId = 'stripe' | 'mercadopago' | 'asaas';

export type EventType = 'paid' | 'pending' | 'failed' | 'expired' | 'refunded' | 'other';

export interface NormalisedEvent {
	/** Stable per gateway event (or per payment status for gateways whose notifications carry none). */
	eventId: string;
	type: EventType;
	/** Our lead id, as we gave it to the gateway (client_reference_id / external_reference / externalReference). */
	leadRef?: string;
	/** The gateway's id of the checkout or payment. */
	providerRef?: string;
	/** Minor units (cents). */
	amount?: number;
	currency?: string;
	occurredAt: string;
	provider: ProviderId;
	/** The gateway's event type, for routing on details the normalised type hides. */
	providerEventType: string;
	/**
	 * Set while the event is only a claim: the gateway's own record of the payment decides its status,
	 * amount and lead. Mercado Pago notifications carry no status; Asaas signs nothing (a static token).
	 * The intake archives such an event as received, so its answer depends only on the durable write; the
	 * processor's Confirm Event reads the payment (by this id, the signed one for Mercado Pago, or by lead
	 * when an Asaas checkout event names no payment), and Apply Checkout Event refuses an event still
	 * carrying it.
	 */
	confirm?: { paymentId?: string; leadRef?: string };
	/**
	 * Routing only, never an effect: the lead a claim whose lead is not known yet belongs to, as the
	 * intake was told (a Mercado Pago notification URL carries `lead`), so that the relay puts it in its
	 * lead's partition (lib/amqp/partitions.ts). Unsigned: a wrong one only routes a message elsewhere.
	 */
	partitionKey?: string;
	raw: unknown;
}

export interface Buyer {
	name: string;
	email: string;
	/** E.164, e.g. +5511987654321. */
	phone?: string;
	/** CPF (11 digits) or CNPJ (14 digits), digits only. */
	document?: string;
	address?: {
		street?: string;
		number?: string;
		complement?: string;
		district?: string;
		city?: string;
		state?: string;
		postalCode?: string;
	};
}

export interface LineItem {
	name: string;
	quantity: number;
	/** Minor units (cents). */
	unitAmount: number;
	sku?: string;
}

export interface PaymentLinkRequest {
	leadRef: string;
	buyer: Buyer;
	items: LineItem[];
	/** ISO 4217, upper case; BRL by default. */
	currency: string;
	successUrl: string;
	cancelUrl: string;
	expiresAt?: Date;
	/** Where the gateway sends webhooks for this checkout, when it takes one per checkout. */
	notificationUrl?: string;
}

export interface PaymentLink {
	provider: ProviderId;
	providerId: string;
	redirectUrl: string;
	expiresAt?: string;
}

export interface PaymentStatus {
	provider: ProviderId;
	providerId: string;
	status: EventType;
	providerStatus: string;
	leadRef?: string;
	amount?: number;
	currency?: string;
	raw: unknown;
}

export interface HttpRequestSpec {
	method: 'GET' | 'POST';
	/** Relative to the credential's base URL, starting with '/'. */
	path: string;
	qs?: Record<string, string>;
	json?: unknown;
	/** application/x-www-form-urlencoded body (Stripe), already flattened. */
	form?: Record<string, string>;
	headers?: Record<string, string>;
}

export interface WebhookInput {
	rawBody: Buffer;
	/** Header names in lower case. */
	headers: Record<string, string | undefined>;
	query: Record<string, string | undefined>;
}

export type VerifyOutcome = { ok: false; reason: string } | { ok: true; event: NormalisedEvent };

/**
 * What the nodes derive a gateway's place in the editor from: the Provider option, the credential asked
 * for when it is chosen, and where in that credential its webhooks' secret is.
 */
export interface GatewayDescriptor {
	id: ProviderId;
	/** The Provider option's name in the editor. */
	displayName: string;
	/** The n8n credential type holding its keys (credentials/, registered in package.json). */
	credentialType: string;
	/** The field of that credential its webhooks are checked with. */
	webhookSecretField: string;
}

export interface GatewayProvider extends GatewayDescriptor {
	createPaymentLink(
		req: PaymentLinkRequest,
		options: Record<string, string | undefined>,
	): HttpRequestSpec;
	parsePaymentLink(
		body: unknown,
		req: PaymentLinkRequest,
		options: Record<string, string | undefined>,
	): PaymentLink;
	getPayment(by: { providerId?: string; leadRef?: string }): HttpRequestSpec;
	parsePayment(body: unknown): PaymentStatus;
	verifyWebhook(input: WebhookInput, secret: string, nowMs: number): VerifyOutcome;
	/**
	 * The event as the gateway's record of its payment says (`payment` is the answer to
	 * `getPayment(event.confirm)`), for events that carry `confirm`; a record of another payment is refused.
	 */
	confirmEvent?(event: NormalisedEvent, payment: unknown): NormalisedEvent;
	/**
	 * A payment link the shop made once in the gateway's dashboard, prefilled for this buyer through its URL
	 * (no API call). Only gateways whose links take a prefill and our reference have it (Stripe).
	 */
	staticPaymentLink?(linkUrl: string, req: Pick<PaymentLinkRequest, 'leadRef' | 'buyer'>): string;
}

/** A value was missing or malformed in a gateway answer or in our input: the message says which. */
export class GatewayError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'GatewayError';
	}
}
