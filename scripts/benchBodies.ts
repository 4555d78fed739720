/** The requests the intake benchmarks send, shared by the single-process and the queue-mode tables. */
import { signStripePayload } from '../lib/gateways/stripe';
import { GATEWAY_KEYS } from '../testbench/credentials';

/** A ~300-byte Stripe event, unique per (tag, i). */
export function eventBody(i: number, tag: string): string {
	return JSON.stringify({
		id: `evt_${tag}_${i}`,
		object: 'event',
		type: 'checkout.session.completed',
		created: Math.floor(Date.now() / 1000),
		data: {
			object: {
				id: `cs_${i}`,
				client_reference_id: `lead-${i}`,
				amount_total: 19990,
				currency: 'brl',
				payment_status: 'paid',
				customer_details: { name: 'José da Silva', email: 'jose@example.com' },
			},
		},
	});
}

export function stripeSignature(body: string): string {
	return signStripePayload(body, GATEWAY_KEYS.stripe.webhookSecret, Math.floor(Date.now() / 1000));
}

/** Told of an answer that was not the expected one (its status and the start of its body). */
export type OnUnexpected = (status: number, body: string) => void;

async function expect(
	res: Response,
	status: number,
	onUnexpected?: OnUnexpected,
): Promise<boolean> {
	const text = await res.text();
	if (res.status === status) return true;
	onUnexpected?.(res.status, text.slice(0, 300));
	return false;
}

/** POSTs a signed Stripe event; true on a 200. */
export function postSignedEvent(
	url: string,
	onUnexpected?: OnUnexpected,
): (body: string) => Promise<boolean> {
	return async (body) =>
		expect(
			await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignature(body) },
				body,
			}),
			200,
			onUnexpected,
		);
}

/** The shop's plain HTML form, as a browser posts it. */
export function leadForm(i: number): string {
	return new URLSearchParams({
		nome: 'José da Silva',
		email: `buyer${i}@example.com`,
		telefone: '(11) 98765-4321',
		cpf: '529.982.247-25',
		// A product of the exported workflow's catalog, which alone sets the price.
		produto: 'Curso de fotografia',
		lgpd: 'on',
	}).toString();
}

/** POSTs the form; true on the 303 to the payment page. */
export function postLeadForm(
	url: string,
	onUnexpected?: OnUnexpected,
): (i: number) => Promise<boolean> {
	return async (i) =>
		expect(
			await fetch(url, {
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
				body: leadForm(i),
				redirect: 'manual',
			}),
			303,
			onUnexpected,
		);
}
