/** The providers. Adding one: a folder beside these with a GatewayProvider, and one line here. */
import { textRecord } from '../http/untrusted';
import { asaasProvider } from './asaas';
import { mercadoPagoProvider } from './mercadopago';
import { stripeProvider } from './stripe';
import type { GatewayProvider, HttpRequestSpec, NormalisedEvent, ProviderId, WebhookInput } from './types';

export const PROVIDERS: Record<ProviderId, GatewayProvider> = {
	stripe: stripeProvider,
	mercadopago: mercadoPagoProvider,
	asaas: asaasProvider,
};

export function providerFor(id: string): GatewayProvider {
	const provider = PROVIDERS[id as ProviderId];
	if (!provider) throw new Error(`Unknown payment provider "${id}" (known: ${Object.keys(PROVIDERS).join(', ')})`);
	return provider;
}

/** Header names in lower case, first value of repeated headers: what verifiers expect (prototype-free: names come from requests). */
export function lowerCaseHeaders(headers: Record<string, unknown>): Record<string, string | undefined> {
	return textRecord(headers, true);
}

/**
 * Verifies a webhook and completes it into a normalised event, fetching from the gateway where its
 * notifications carry no status (Mercado Pago). `request` sends a provider request with the credential;
 * the Verify operation and the fast-intake trigger both come through here.
 */
export async function verifyAndNormalise(
	provider: GatewayProvider,
	input: WebhookInput,
	secret: string,
	request: (spec: HttpRequestSpec) => Promise<unknown>,
	nowMs = Date.now(),
): Promise<{ ok: true; event: NormalisedEvent } | { ok: false; reason: string }> {
	const outcome = provider.verifyWebhook(input, secret, nowMs);
	if (!outcome.ok) return outcome;
	if (outcome.event) return { ok: true, event: outcome.event };
	return { ok: true, event: outcome.fetch.toEvent(await request(outcome.fetch.request)) };
}

/** The secret a provider's webhooks are checked with, from its credential's fields. */
export function webhookSecretOf(provider: ProviderId, credentials: Record<string, unknown>): string {
	return String((provider === 'asaas' ? credentials.webhookToken : credentials.webhookSecret) ?? '');
}

/** The archived form of a verified event: what the intake workflow's Store writes and the trigger writes. */
export function serialiseEvent(event: NormalisedEvent): Buffer {
	return Buffer.from(JSON.stringify(event), 'utf8');
}
