/**
 * The one message of the checkout pipeline, as the archive stores it and the queue carries it: a lead
 * captured from the shop's form, or a payment event normalised from a gateway webhook. Built only by the
 * constructors here and read only by the readers here, so that the queue, the archive and the Pipedrive
 * operations agree on its shape and the AMQP layer never digs fields out of bodies itself (it is given a
 * key function: `partitionKeyOf`). Pure, no n8n, no I/O.
 */
import type { Lead } from '../forms/lead';
import type { NormalisedEvent } from '../gateways/types';

export const LEAD_CAPTURED = 'lead.captured';

/** A lead as Checkout Form → Parse validated it, with the ids and the pay link it got. */
export type LeadCapturedMessage = Lead & {
	type: typeof LEAD_CAPTURED;
	leadId: string;
	/** `{lead id}.{revision}`: a corrected post of the same lead is a new revision, not a duplicate. */
	eventId: string;
	revision: string;
	/** ISO time of the capture: what decides which of a buyer's leads is newer. */
	capturedAt: string;
	payLink: string;
	payLinkExpiresAt: string;
};

/** A verified gateway webhook as lib/gateways normalised it (maybe still a claim: see `confirm`). */
export type PaymentEventMessage = NormalisedEvent;

export type CheckoutMessage = LeadCapturedMessage | PaymentEventMessage;

export function leadCapturedMessage(input: {
	leadId: string;
	eventId: string;
	revision: string;
	capturedAt: string;
	lead: Lead;
	payLink: { url: string; expiresAt: string };
}): LeadCapturedMessage {
	return {
		leadId: input.leadId,
		eventId: input.eventId,
		revision: input.revision,
		type: LEAD_CAPTURED,
		capturedAt: input.capturedAt,
		...input.lead,
		payLink: input.payLink.url,
		payLinkExpiresAt: input.payLink.expiresAt,
	};
}

/** The bytes the archive stores for a message (and the queue carries). */
export function encodeMessage(message: CheckoutMessage): Buffer {
	return Buffer.from(JSON.stringify(message), 'utf8');
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function objectOf(body: Buffer | string | unknown): Record<string, unknown> | undefined {
	let value = body;
	if (typeof body === 'string' || Buffer.isBuffer(body)) {
		try {
			value = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
		} catch {
			return undefined;
		}
	}
	return value && typeof value === 'object' && !Array.isArray(value)
		? (value as Record<string, unknown>)
		: undefined;
}

export function isLeadCaptured(message: { type?: unknown }): message is LeadCapturedMessage {
	return message.type === LEAD_CAPTURED;
}

/**
 * The lead a message belongs to, as far as its body tells: a lead capture's `leadId`, a payment event's
 * `leadRef`, a claim's lead as the intake was told to route it (`partitionKey`) or as its gateway named
 * it (`confirm.leadRef`).
 */
export function leadOfMessage(message: Record<string, unknown>): string | undefined {
	const confirm =
		message.confirm && typeof message.confirm === 'object'
			? (message.confirm as Record<string, unknown>)
			: undefined;
	return (
		text(message.leadRef) ??
		text(message.leadId) ??
		text(message.partitionKey) ??
		text(confirm?.leadRef)
	);
}

/**
 * The key a message is ordered and partitioned by: its lead (`lead:…`), or, for a gateway claim whose lead
 * is only known once the gateway is asked, its payment (`payment:{provider}:{id}`). A body that is not a
 * message of the pack goes by its event id (`event:…`): it is alone in its order, which is all such a
 * message can ask for. The key function the relay, re-drive and the consumer are given.
 */
export function partitionKeyOf(body: Buffer | string | unknown, eventId: string): string {
	const message = objectOf(body);
	if (!message) return `event:${eventId}`;
	const lead = leadOfMessage(message);
	if (lead) return `lead:${lead}`;
	const confirm =
		message.confirm && typeof message.confirm === 'object'
			? (message.confirm as Record<string, unknown>)
			: undefined;
	const payment = text(confirm?.paymentId);
	if (payment) return `payment:${text(message.provider) ?? 'gateway'}:${payment}`;
	return `event:${eventId}`;
}

/**
 * The lead whose pay links a verified event closes: a payment the gateway itself vouches for (a signed
 * Stripe event, or a claim after Confirm Event read the payment). A claim still to be confirmed closes
 * nothing: whoever holds Asaas' static token could otherwise shut a buyer's link.
 */
export function leadPaidBy(event: {
	type?: unknown;
	leadRef?: unknown;
	confirm?: unknown;
}): string | undefined {
	return event.type === 'paid' &&
		!event.confirm &&
		typeof event.leadRef === 'string' &&
		event.leadRef !== ''
		? event.leadRef
		: undefined;
}
