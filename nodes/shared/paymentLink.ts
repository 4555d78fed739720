/**
 * Opening a payment page at a gateway for one checkout: the request lib/gateways builds, sent through the
 * gateway transport, its answer parsed. Shared by Payment Gateway → Create Payment Link and the Checkout
 * Form Trigger, so that both ask the gateway the same way.
 */
import {
	NodeOperationError,
	type IDataObject,
	type INodeProperties,
	type IExecuteFunctions,
	type IWebhookFunctions,
} from 'n8n-workflow';

import { providerFor } from '../../lib/gateways';
import { resolveNotificationUrl } from '../../lib/gateways/notificationUrl';
import type { PaymentLink, PaymentLinkRequest, ProviderId } from '../../lib/gateways/types';
import { gatewayRequest, type GatewayAuth } from './transport/gateway';

/** How a Stripe payment page is opened: a Checkout Session per buyer, or the shop's static link prefilled. */
export const stripeLinkModeProperties: INodeProperties[] = [
	{
		displayName: 'Stripe Mode',
		name: 'stripeMode',
		type: 'options',
		default: 'checkoutSession',
		displayOptions: { show: { provider: ['stripe'] } },
		options: [
			{
				name: 'Checkout Session (API)',
				value: 'checkoutSession',
				description: 'A session per buyer: expiry, recovery, our reference',
			},
			{
				name: 'Static Payment Link + Prefill',
				value: 'staticLink',
				description:
					'No API call: your buy.stripe.com link with the email and our reference in the URL',
			},
		],
	},
	{
		displayName: 'Payment Link URL',
		name: 'paymentLinkUrl',
		type: 'string',
		default: '',
		placeholder: 'https://buy.stripe.com/…',
		displayOptions: { show: { provider: ['stripe'], stripeMode: ['staticLink'] } },
	},
];

/**
 * Mercado Pago's notification_url for this instance (the fast intake at n8n's public address unless one
 * is configured); a loopback address for a gateway that is not on this machine is the node's error.
 */
export function notificationUrlFor(
	ctx: IExecuteFunctions | IWebhookFunctions,
	configured: string,
	credentials: IDataObject,
	itemIndex = 0,
): string {
	try {
		return resolveNotificationUrl({
			configured,
			restApiUrl: ctx.getRestApiUrl(),
			gatewayBaseUrl: String(credentials.baseUrl ?? ''),
		});
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { itemIndex });
	}
}

/**
 * The payment page for `request`: a static link with the buyer prefilled (Stripe's buy.stripe.com, no
 * call), or the gateway's checkout created through its API.
 */
export async function openPaymentPage(
	ctx: IExecuteFunctions | IWebhookFunctions,
	provider: ProviderId,
	credentials: IDataObject,
	request: PaymentLinkRequest,
	staticLinkUrl: string | undefined,
	itemIndex = 0,
	auth: GatewayAuth = 'n8n',
): Promise<PaymentLink> {
	const gateway = providerFor(provider);
	if (gateway.staticPaymentLink && staticLinkUrl !== undefined) {
		const redirectUrl = gateway.staticPaymentLink(staticLinkUrl, request);
		return { provider, providerId: '', redirectUrl };
	}
	const options = {
		sandbox: String(credentials.sandbox === true),
		checkoutPageUrl: String(credentials.checkoutPageUrl ?? ''),
	};
	const body = await gatewayRequest(
		ctx,
		provider,
		credentials,
		gateway.createPaymentLink(request, options),
		itemIndex,
		auth,
	);
	return gateway.parsePaymentLink(body, request, options);
}
