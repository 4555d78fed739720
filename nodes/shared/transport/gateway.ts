/**
 * Sends a provider's request description (lib/gateways builds them) through n8n's authenticated request
 * helper (credential injection, proxies, n8n's retry settings), against the credential's base URL. Used
 * by the Payment Gateway node and the fast-intake trigger.
 */
import { redactVendorText } from '../../../lib/util/redact';
import {
	NodeApiError,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type IWebhookFunctions,
	type JsonObject,
} from 'n8n-workflow';

import { providerFor } from '../../../lib/gateways';
import { gatewayFailureKind } from '../../../lib/gateways/failure';
import type { HttpRequestSpec, ProviderId } from '../../../lib/gateways/types';
import { checkedBaseUrl } from '../../../lib/http/baseUrl';
import {
	renderCredentialHeaders,
	type GenericAuthTemplate,
} from '../../../lib/http/credentialHeaders';
import { CheckoutAsaasApi } from '../../../credentials/CheckoutAsaasApi.credentials';
import { CheckoutMercadoPagoApi } from '../../../credentials/CheckoutMercadoPagoApi.credentials';
import { CheckoutStripeApi } from '../../../credentials/CheckoutStripeApi.credentials';
import { isNodeApiError, withFailureKind } from '../errors';

/** Both node kinds that talk to gateways: operations (execute) and the fast-intake trigger (webhook). */
type GatewayContext = IExecuteFunctions | IWebhookFunctions;

export async function gatewayCredentials(
	ctx: GatewayContext,
	provider: ProviderId,
): Promise<IDataObject> {
	return (await ctx.getCredentials(providerFor(provider).credentialType)) as IDataObject;
}

/** The generic authentication each gateway credential declares (one source: the credential classes). */
const GATEWAY_AUTH: Record<string, GenericAuthTemplate> = Object.fromEntries(
	[new CheckoutStripeApi(), new CheckoutMercadoPagoApi(), new CheckoutAsaasApi()].map((c) => [
		c.name,
		c.authenticate as GenericAuthTemplate,
	]),
);

/**
 * How a request is authenticated: `n8n` through n8n's authenticated request helper (workflows), or
 * `held` with the headers rendered from the credential the caller holds (the webhook handlers' fast paths:
 * lib/http/credentialHeaders.ts says why); `held` falls back to `n8n` for a template it cannot render.
 */
export type GatewayAuth = 'n8n' | 'held';

export async function gatewayRequest(
	ctx: GatewayContext,
	provider: ProviderId,
	credentials: IDataObject,
	spec: HttpRequestSpec,
	itemIndex: number,
	auth: GatewayAuth = 'n8n',
): Promise<unknown> {
	let baseUrl: string;
	try {
		baseUrl = checkedBaseUrl(
			String(credentials.baseUrl ?? ''),
			`The ${provider} credential's Base URL`,
		);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { itemIndex });
	}
	const options: IHttpRequestOptions = {
		method: spec.method,
		url: `${baseUrl}${spec.path}`,
		qs: spec.qs,
		headers: { ...spec.headers },
		json: true,
	};
	if (spec.form) {
		options.body = new URLSearchParams(spec.form).toString();
		options.headers = { ...options.headers, 'content-type': 'application/x-www-form-urlencoded' };
	} else if (spec.json !== undefined) {
		options.body = spec.json as IDataObject;
	}
	const credentialType = providerFor(provider).credentialType;
	const heldHeaders =
		auth === 'held' && GATEWAY_AUTH[credentialType]
			? renderCredentialHeaders(GATEWAY_AUTH[credentialType], credentials)
			: undefined;
	try {
		if (heldHeaders)
			return await ctx.helpers.httpRequest({
				...options,
				headers: { ...options.headers, ...heldHeaders },
			});
		return await (
			ctx.helpers
				.httpRequestWithAuthentication as IExecuteFunctions['helpers']['httpRequestWithAuthentication']
		).call(ctx as IExecuteFunctions, credentialType, options);
	} catch (error) {
		const what = `${provider} ${spec.method} ${spec.path} failed`;
		// n8n's helper throws a NodeApiError already, and wrapping one hands back the original: name the
		// call on it, so that the execution's error and a dead letter's reason say which request failed.
		// What the failure means for the queue is said here, by the HTTP status (lib/gateways/failure.ts).
		if (isNodeApiError(error)) {
			// The gateway's own words may echo the buyer's name or address: quoted values are masked.
			error.message = `${what}${error.httpCode ? ` (HTTP ${error.httpCode})` : ''}: ${redactVendorText(error.message)}`;
			throw withFailureKind(error, gatewayFailureKind(httpStatusOf(error)), provider);
		}
		throw withFailureKind(
			new NodeApiError(ctx.getNode(), error as JsonObject, { itemIndex, message: what }),
			gatewayFailureKind(httpStatusOf(error)),
			provider,
		);
	}
}

/** The HTTP status a failed request got, or undefined when no answer came (refused, reset, timed out). */
function httpStatusOf(error: unknown): number | undefined {
	const e = error as {
		httpCode?: string | null;
		response?: { status?: number };
		cause?: { response?: { status?: number } };
	};
	const status = Number(e.httpCode ?? e.response?.status ?? e.cause?.response?.status);
	return Number.isFinite(status) && status > 0 ? status : undefined;
}
