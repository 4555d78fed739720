/**
 * The payment gateways. Each folder beside this file exports one GatewayProvider, whose descriptor (name,
 * credential type, webhook-secret field) is all the nodes need: the Provider option, the credentials they
 * ask for and the secret lookup are derived from PROVIDERS. Adding a gateway: its folder, its id in
 * ProviderId (types.ts; the compiler then asks for its line here), and its n8n credential class
 * (credentials/, listed in package.json: n8n loads credentials only from there).
 */
import { textRecord } from '../http/untrusted';
import { asaasProvider } from './asaas';
import { mercadoPagoProvider } from './mercadopago';
import { stripeProvider } from './stripe';
import {
	GatewayError,
	type GatewayProvider,
	type HttpRequestSpec,
	type NormalisedEvent,
	type ProviderId,
} from './types';

export const PROVIDERS: Record<ProviderId, GatewayProvider> = {
	stripe: stripeProvider,
	mercadopago: mercadoPagoProvider,
	asaas: asaasProvider,
};

/** Every gateway, in PROVIDERS' order. */
export const GATEWAYS: readonly GatewayProvider[] = Object.values(PROVIDERS);

export function providerFor(id: string): GatewayProvider {
	const provider = Object.hasOwn(PROVIDERS, id) ? PROVIDERS[id as ProviderId] : undefined;
	if (!provider)
		throw new Error(
			`Unknown payment provider "${id}" (known: ${Object.keys(PROVIDERS).join(', ')})`,
		);
	return provider;
}

/** Header names in lower case, first value of repeated headers: what verifiers expect (prototype-free: names come from requests). */
export function lowerCaseHeaders(
	headers: Record<string, unknown>,
): Record<string, string | undefined> {
	return textRecord(headers, true);
}

/**
 * The step between a webhook that was only a claim and the deal: sends the provider's payment read for
 * `event.confirm` through `request` and returns the event as the record says. An event with nothing to
 * confirm comes back as it is. Whatever fails here fails the execution, so the queue retries it and
 * finally dead-letters it with the reason.
 */
export async function confirmEvent(
	provider: GatewayProvider,
	event: NormalisedEvent,
	request: (spec: HttpRequestSpec) => Promise<unknown>,
	nowMs = Date.now(),
): Promise<NormalisedEvent> {
	if (!event.confirm) return event;
	if (event.provider !== provider.id)
		throw new GatewayError(
			`a ${String(event.provider)} event cannot be confirmed with ${provider.id}`,
		);
	if (!provider.confirmEvent) throw new GatewayError(`${provider.id} events need no confirmation`);
	const { paymentId, leadRef } = event.confirm;
	// The event comes from the archive, as the intake wrote it; still, only text ids build a request.
	if (
		(paymentId !== undefined && typeof paymentId !== 'string') ||
		(leadRef !== undefined && typeof leadRef !== 'string')
	) {
		throw new GatewayError(
			"the event's confirm names its payment or lead with something that is not text",
		);
	}
	if (!paymentId && !leadRef)
		throw new GatewayError('the event names neither a payment nor a lead to confirm it by');
	const answer = await request(
		provider.getPayment(paymentId ? { providerId: paymentId } : { leadRef }),
	);
	const confirmed = provider.confirmEvent(event, answer);
	delete confirmed.confirm;
	// The claim's own words stay (the notification, no payer data: the record may carry the buyer's), and
	// its time is never later than now: a claimed date in the future would make every real event "older".
	const nowIso = new Date(nowMs).toISOString();
	return {
		...confirmed,
		raw: event.raw,
		occurredAt: confirmed.occurredAt > nowIso ? nowIso : confirmed.occurredAt,
	};
}

/** The secret a provider's webhooks are checked with, from its credential's fields. */
export function webhookSecretOf(
	provider: ProviderId,
	credentials: Record<string, unknown>,
): string {
	return String(credentials[providerFor(provider).webhookSecretField] ?? '');
}
