/**
 * Stripe webhook bodies as the tests and the fault matrix send them: a checkout session of one lead in
 * one of the states a gateway reports, or the refund of its charge. Signed by the sender
 * (lib/gateways/stripe signStripePayload).
 */
import type { EventType } from '../lib/gateways/types';

export type StripeStep = Exclude<EventType, 'other'>;

export interface StripeEventSpec {
	/** The event id (evt_…). */
	id: string;
	leadId: string;
	step: StripeStep;
	/** Seconds since the epoch, as Stripe stamps events. */
	createdSec: number;
	/** Minor units. */
	amount: number;
	/** The checkout session's and the charge's ids. */
	sessionId: string;
	chargeId: string;
}

export function stripeEventBody(e: StripeEventSpec): string {
	const session = (status: 'paid' | 'unpaid') => ({
		id: e.sessionId,
		object: 'checkout.session',
		client_reference_id: e.leadId,
		amount_total: e.amount,
		currency: 'brl',
		payment_status: status,
	});
	const byStep: Record<StripeStep, { type: string; object: unknown }> = {
		pending: { type: 'checkout.session.completed', object: session('unpaid') },
		paid: { type: 'checkout.session.async_payment_succeeded', object: session('paid') },
		failed: { type: 'checkout.session.async_payment_failed', object: session('unpaid') },
		expired: { type: 'checkout.session.expired', object: session('unpaid') },
		refunded: {
			type: 'charge.refunded',
			object: {
				id: e.chargeId,
				object: 'charge',
				amount: e.amount,
				amount_refunded: e.amount,
				currency: 'brl',
				metadata: { lead_id: e.leadId },
			},
		},
	};
	const chosen = byStep[e.step];
	return JSON.stringify({
		id: e.id,
		object: 'event',
		type: chosen.type,
		created: e.createdSec,
		data: { object: chosen.object },
	});
}
