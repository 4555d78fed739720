/**
 * Fast lead capture: the shop's form posts here and the buyer is answered from the webhook handler itself,
 * without a workflow execution per buyer (n8n's per-execution cost is most of a visual lead capture's
 * wait): the post is validated and priced from the catalog, the lead is stored durably, the gateway opens
 * a payment page filled in with the buyer's data, and the buyer gets a 303 to it. Every other answer is
 * the visual workflow's: 4xx naming the fields, the thank-you page for a bot, 503 when the store is down,
 * the retry page (with the signed pay link) when the gateway is. Same code as Checkout Form → Parse,
 * Webhook Archive → Store and Payment Gateway → Create Payment Link (lib/forms/capture.ts,
 * lib/archive/verifiedEvent.ts, nodes/shared/paymentLink.ts).
 *
 * A file part is refused with 415 naming its field: n8n's multipart parser holds it in its temporary
 * folder for the request only and deletes it when this handler returns; nothing of it is kept (behind a
 * Webhook node n8n copies it into the execution's binary data). How the handler answers without an
 * execution: see the Payment Webhook Trigger. Declared as version 2 for the same reason as that one.
 */
import {
	fromParameter,
	NodeConnectionTypes,
	webhookDescriptionFields,
	type IDataObject,
	type INodeCredentialDescription,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { storeVerifiedEvent } from '../../lib/archive/verifiedEvent';
import { encodeMessage, type LeadCapturedMessage } from '../../lib/checkout/message';
import { evaluateLeadPost } from '../../lib/forms/capture';
import {
	FILE_REFUSED,
	gatewayDownAnswer,
	rejectionAnswer,
	storageDownAnswer,
	thanksAnswer,
	type HttpAnswer,
} from '../../lib/forms/responses';
import { providerFor } from '../../lib/gateways';
import { parseBuyerAddress } from '../../lib/gateways/address';
import type { PaymentLinkRequest, ProviderId } from '../../lib/gateways/types';
import {
	HTML_SECURITY_HEADERS,
	PAGE_CONTENT_SECURITY_POLICY,
} from '../../lib/html/securityHeaders';
import { redactPersonalData } from '../../lib/util/redact';
import { CHECKOUT_LINKS_CREDENTIAL, linkSettingsFrom } from '../shared/checkoutLinks';
import { cachedCredentials } from '../shared/credentialCache';
import { manualWebhookMethods } from '../shared/manualWebhook';
import { gatewayCredentialDescriptions, providerProperty } from '../shared/gatewayDescriptions';
import { leadFormProperties, readLeadFormSettings } from '../shared/leadForm';
import {
	notificationUrlFor,
	openPaymentPage,
	stripeLinkModeProperties,
} from '../shared/paymentLink';
import { cachedArchive, S3_CREDENTIAL, s3SettingsFromCredential } from '../shared/transport/s3';

/** Every answer of this node is for a browser: the pack's page headers, and never cached. */
const PAGE_HEADERS: Record<string, string> = {
	...HTML_SECURITY_HEADERS,
	'Content-Security-Policy': `${PAGE_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`,
	'Cache-Control': 'no-store',
};

/** The form field of the first file part of a multipart post (n8n parsed it into `{ data, files }`). */
function fileFieldOf(body: unknown): string | undefined {
	const files = (body as { files?: unknown } | undefined)?.files;
	return files && typeof files === 'object' ? Object.keys(files)[0] : undefined;
}

/** The store, the pay link's secret, then the gateway's own credential. */
const formTriggerCredentials: INodeCredentialDescription[] = [
	{ name: S3_CREDENTIAL, required: true },
	{ name: CHECKOUT_LINKS_CREDENTIAL, required: true },
	...gatewayCredentialDescriptions,
];

export class CheckoutFormTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Checkout Form Trigger',
		name: 'checkoutFormTrigger',
		icon: { light: 'file:checkoutFormTrigger.svg', dark: 'file:checkoutFormTrigger.dark.svg' },
		group: ['trigger'],
		version: 2,
		subtitle: '={{ $parameter["provider"] }}',
		description:
			"Takes the shop's checkout form and sends the buyer to a prefilled payment page, answering in the webhook handler without an execution per buyer",
		defaults: { name: 'Checkout Form Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: formTriggerCredentials,
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				responseData: '',
				isFullPath: true,
				...webhookDescriptionFields({ path: fromParameter('path') }),
			},
		],
		properties: [
			{
				displayName:
					"Put the Production URL above in the form's action (method POST). The buyer gets a 303 to the payment page; fields to fix get a 422 page naming them.",
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'checkout/lead/fast',
				required: true,
				description: 'The webhook path: the URL is {n8n}/webhook/{path}',
			},
			{
				displayName: 'Key Prefix',
				name: 'prefix',
				type: 'string',
				default: 'checkout',
				description: "Archive folder in the bucket (the same as the sweep's)",
			},
			providerProperty,
			...stripeLinkModeProperties,
			{
				displayName: 'Success URL',
				name: 'successUrl',
				type: 'string',
				default: '',
				required: true,
				placeholder: 'https://loja.example/obrigado',
				description:
					"The shop's thank-you page after a payment. A buyer who leaves the payment page comes back to this n8n's pay link, never to a shop page with the link in its address.",
			},
			{
				displayName: 'Expires In (Minutes)',
				name: 'expiresInMinutes',
				type: 'number',
				default: 60,
				typeOptions: { minValue: 30 },
				description: "How long the gateway's payment page stays open",
			},
			{
				displayName: 'Notification URL',
				name: 'notificationUrl',
				type: 'string',
				default: '',
				displayOptions: { show: { provider: ['mercadopago'] } },
				description:
					"Where Mercado Pago sends this payment's webhooks. Empty: this instance's fast intake at n8n's public webhook address (N8N_WEBHOOK_URL + webhook/checkout/fast/mercadopago).",
			},
			...leadFormProperties,
			{
				displayName: 'Start an Execution per Lead',
				name: 'startExecution',
				type: 'boolean',
				default: false,
				description:
					'Whether to also start a workflow execution for each stored lead, after the buyer is answered (to see every lead in the execution list; slower)',
			},
		],
	};

	// The form is configured by hand on the shop's page: nothing to register or remove.
	webhookMethods = manualWebhookMethods;

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const res = this.getResponseObject();
		const answer = (page: HttpAnswer, headers: Record<string, string> = {}) => {
			res
				.status(page.status)
				.set({ ...PAGE_HEADERS, 'Content-Type': page.contentType, ...headers })
				.send(page.body);
			return { noWebhookResponse: true };
		};
		try {
			const req = this.getRequestObject();
			const headers = req.headers as Record<string, unknown>;
			const settings = readLeadFormSettings(this.getNode(), (name, fallback) =>
				this.getNodeParameter(name, fallback),
			);
			// Multipart: n8n parsed it into { data, files }; a checkout form has no file field.
			const multipart = req.contentType === 'multipart/form-data';
			const file = multipart ? fileFieldOf(req.body) : undefined;
			if (file) {
				this.logger.info('Checkout form: a post with a file part refused (415)');
				const accept = typeof headers.accept === 'string' ? headers.accept : undefined;
				const errors = [{ field: file, message: FILE_REFUSED }];
				return answer(rejectionAnswer(errors, accept, settings.backUrl, 415));
			}
			const body: unknown = multipart
				? ((req.body as { data?: unknown } | undefined)?.data ?? {})
				: req.body;
			const links = linkSettingsFrom(await cachedCredentials(this, CHECKOUT_LINKS_CREDENTIAL));
			const outcome = evaluateLeadPost(
				settings,
				{ body, query: (req.query ?? {}) as Record<string, unknown>, headers },
				links,
			);
			if (outcome.kind === 'bot') return answer(thanksAnswer());
			if (outcome.kind === 'rejected') return answer(outcome.answer);
			const lead = outcome.message;

			let archiveKey: string;
			try {
				archiveKey = await storeLead.call(this, lead);
			} catch (error) {
				this.logger.error(
					`Checkout form: lead not stored, answered 503: ${redactPersonalData((error as Error).message)}`,
				);
				return answer(storageDownAnswer(), { 'Retry-After': '30' });
			}

			let redirectUrl: string;
			try {
				redirectUrl = (await openPaymentPageFor.call(this, lead)).redirectUrl;
			} catch (error) {
				// The lead is stored: the buyer retries through the signed pay link, the rules follow it up.
				this.logger.warn(
					`Checkout form: lead ${lead.leadId} stored, payment page not opened: ${redactPersonalData((error as Error).message)}`,
				);
				return answer(gatewayDownAnswer(lead.payLink));
			}
			res
				.status(303)
				.set({ ...PAGE_HEADERS, Location: redirectUrl })
				.end();
			if (this.getNodeParameter('startExecution', false) !== true)
				return { noWebhookResponse: true };
			return {
				noWebhookResponse: true,
				workflowData: [[{ json: { ...(lead as unknown as IDataObject), archiveKey } }]],
			};
		} catch (error) {
			// A configuration error (an empty catalog, a bad credential): the shop must see it in n8n's log.
			this.logger.error(
				`Checkout form: unexpected error: ${redactPersonalData((error as Error).message)}`,
			);
			return answer({
				status: 500,
				contentType: 'text/plain; charset=utf-8',
				body: 'internal error',
			});
		}
	}
}

/** Stores the lead durably in the archive (its revision registered), before anything else: its key. */
async function storeLead(this: IWebhookFunctions, lead: LeadCapturedMessage): Promise<string> {
	const { archive, leads } = cachedArchive(
		s3SettingsFromCredential(await cachedCredentials(this, S3_CREDENTIAL)),
		this.getNodeParameter('prefix', 'checkout') as string,
		(line) => this.logger.info(line),
	);
	const stored = await storeVerifiedEvent(archive, leads, {
		body: encodeMessage(lead),
		eventId: lead.eventId,
		source: 'lead',
		contentType: 'application/json',
		event: lead,
		closeLinks: false,
	});
	return stored.key;
}

/** The payment page for a stored lead, as the node's gateway parameters say. */
async function openPaymentPageFor(this: IWebhookFunctions, lead: LeadCapturedMessage) {
	const provider = this.getNodeParameter('provider') as ProviderId;
	const credentials = (await cachedCredentials(
		this,
		providerFor(provider).credentialType,
	)) as IDataObject;
	const payLink = new URL(lead.payLink);
	// Back from the gateway without paying: this n8n's own page, which offers the payment again.
	payLink.searchParams.set('from', 'gateway');
	const address = parseBuyerAddress(lead.address);
	const request: PaymentLinkRequest = {
		leadRef: lead.leadId,
		buyer: {
			name: lead.name,
			email: lead.email,
			phone: lead.phone,
			document: lead.document,
			...(address ? { address } : {}),
		},
		items: [{ name: lead.product, quantity: 1, unitAmount: lead.amount }],
		currency: lead.currency.toUpperCase(),
		successUrl: this.getNodeParameter('successUrl') as string,
		cancelUrl: payLink.toString(),
		expiresAt: new Date(
			Date.now() + (this.getNodeParameter('expiresInMinutes', 60) as number) * 60_000,
		),
	};
	if (provider === 'mercadopago')
		request.notificationUrl = notificationUrlFor(
			this,
			String(this.getNodeParameter('notificationUrl', '') ?? '').trim(),
			credentials,
		);
	const staticLink =
		provider === 'stripe' && this.getNodeParameter('stripeMode', 'checkoutSession') === 'staticLink'
			? String(this.getNodeParameter('paymentLinkUrl', '') ?? '').trim()
			: undefined;
	// The credential is held already (cachedCredentials): its headers are rendered here, not by n8n's helper.
	return await openPaymentPage(this, provider, credentials, request, staticLink, 0, 'held');
}
