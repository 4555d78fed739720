/** The providers. Adding one: a folder beside these with a GatewayProvider, and one line here. */
import { asaasProvider } from './asaas';
import { mercadoPagoProvider } from './mercadopago';
import { stripeProvider } from './stripe';
import type { GatewayProvider, ProviderId } from './types';

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

/** Header names in lower case, first value of repeated headers: what verifiers expect. */
export function lowerCaseHeaders(headers: Record<string, unknown>): Record<string, string | undefined> {
	const out: Record<string, string | undefined> = {};
	for (const [name, value] of Object.entries(headers)) {
		out[name.toLowerCase()] = Array.isArray(value) ? String(value[0]) : value === undefined || value === null ? undefined : String(value);
	}
	return out;
}
