/**
 * Fast intake: verifies a gateway webhook and archives it inside the webhook handler, then answers,
 * without starting a workflow execution (n8n's per-execution cost is what limits a visual intake to a few
 * dozen requests per second). Same gateway and archive code as the Payment Gateway and Webhook Archive
 * nodes.
 *
 * How it skips the execution (n8n 2.x): returning a `webhookResponse` without `workflowData` answers at
 * once; answering through the response object and returning `noWebhookResponse` keeps a custom status
 * (401, 503). The handler never throws: a throw makes n8n answer 500 and start an error execution.
 * Declared as version 2: for version 1 nodes n8n evaluates an expression on every request.
 */
import {
	fromParameter,
	NodeConnectionTypes,
	webhookDescriptionFields,
	type IDataObject,
	type INodeType,
	type INodeTypeDescription,
	type IWebhookFunctions,
	type IWebhookResponseData,
} from 'n8n-workflow';

import { textRecord } from '../../lib/http/untrusted';
import { redactPersonalData } from '../../lib/util/redact';
import { storeVerifiedEvent, type StoredVerifiedEvent } from '../../lib/archive/verifiedEvent';
import { encodeMessage } from '../../lib/checkout/message';
import { lowerCaseHeaders, providerFor, webhookSecretOf } from '../../lib/gateways';
import type { NormalisedEvent, ProviderId } from '../../lib/gateways/types';
import { gatewayCredentialDescriptions, providerProperty } from '../shared/gatewayDescriptions';
import { cachedCredentials } from '../shared/credentialCache';
import { manualWebhookMethods } from '../shared/manualWebhook';
import { cachedArchive, S3_CREDENTIAL, s3SettingsFromCredential } from '../shared/transport/s3';

export class PaymentWebhookTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Payment Webhook Trigger',
		name: 'paymentWebhookTrigger',
		icon: { light: 'file:paymentWebhookTrigger.svg', dark: 'file:paymentWebhookTrigger.dark.svg' },
		group: ['trigger'],
		version: 2,
		subtitle: '={{ $parameter["provider"] }}',
		description:
			'Verifies and archives payment webhooks in the webhook handler itself, answering without an execution per request',
		defaults: { name: 'Payment Webhook Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'checkoutS3Api', required: true }, ...gatewayCredentialDescriptions],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				// Empty, so that when an execution is started too, n8n answers with our webhookResponse
				// instead of its default 'firstEntryJson' (which it would send as a literal string).
				responseData: '',
				isFullPath: true,
				// The path as a template the editor shows plus a native resolver, so that n8n resolves it per
				// request without its expression sandbox (a sandbox per request costs ~30 ms of CPU).
				...webhookDescriptionFields({ path: fromParameter('path') }),
			},
		],
		properties: [
			{
				displayName:
					"Paste the Production URL above into the gateway's dashboard (Stripe: Developers → Webhooks; Mercado Pago: Your integrations → Webhooks; Asaas: Integrations → Webhooks). Start n8n with N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true for full speed.",
				name: 'notice',
				type: 'notice',
				default: '',
			},
			providerProperty,
			{
				displayName: 'Path',
				name: 'path',
				type: 'string',
				default: 'checkout/fast/stripe',
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
			{
				displayName: 'Start an Execution per Event',
				name: 'startExecution',
				type: 'boolean',
				default: false,
				description:
					'Whether to also start a workflow execution for each verified event (to see every event in the execution list; slower)',
			},
		],
	};

	// The gateway is configured by hand in its dashboard: nothing to register or remove.
	webhookMethods = manualWebhookMethods;

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const res = this.getResponseObject();
		const answer = (
			status: number,
			body: IDataObject,
			headers: Record<string, string> = {},
		): IWebhookResponseData => {
			res.status(status).set(headers).json(body);
			return { noWebhookResponse: true };
		};
		try {
			const req = this.getRequestObject();
			if (!req.rawBody) await req.readRawBody();
			const provider = this.getNodeParameter('provider') as ProviderId;
			const gatewayCredentials = (await cachedCredentials(
				this,
				providerFor(provider).credentialType,
			)) as IDataObject;
			const input = {
				rawBody: req.rawBody ?? Buffer.alloc(0),
				headers: lowerCaseHeaders(req.headers as IDataObject),
				query: textRecord(req.query as Record<string, unknown>),
			};
			// No call to the gateway before the answer: it depends on the durable write only. An event that
			// is only a claim (Mercado Pago, Asaas) is archived as received and confirmed downstream.
			const outcome = providerFor(provider).verifyWebhook(
				input,
				webhookSecretOf(provider, gatewayCredentials),
				Date.now(),
			);
			if (!outcome.ok) {
				this.logger.info(`Payment webhook rejected (${provider}): ${outcome.reason}`);
				return answer(401, { error: 'invalid signature' });
			}
			const stored = await archiveVerifiedEvent.call(this, provider, outcome.event);
			if (!stored)
				return answer(503, { error: 'storage unavailable, please retry' }, { 'Retry-After': '30' });
			const webhookResponse = { received: true, duplicate: stored.duplicate };
			if (this.getNodeParameter('startExecution', false) === true && !stored.duplicate) {
				return {
					webhookResponse,
					workflowData: [
						[
							{
								json: {
									...outcome.event,
									raw: outcome.event.raw as IDataObject,
									archiveKey: stored.key,
								},
							},
						],
					],
				};
			}
			return { webhookResponse };
		} catch (error) {
			this.logger.error(
				`Payment webhook: unexpected error: ${redactPersonalData((error as Error).message)}`,
			);
			return answer(500, { error: 'internal error, please retry' });
		}
	}
}

/**
 * Archives a verified event and closes its lead's pay links when it is a payment: the event, or undefined
 * when S3 did not confirm (logged; the handler answers 503 and the gateway retries).
 */
async function archiveVerifiedEvent(
	this: IWebhookFunctions,
	provider: ProviderId,
	event: NormalisedEvent,
): Promise<StoredVerifiedEvent | undefined> {
	const { archive, leads } = cachedArchive(
		s3SettingsFromCredential(await cachedCredentials(this, S3_CREDENTIAL)),
		this.getNodeParameter('prefix', 'checkout') as string,
		(line) => this.logger.info(line),
	);
	try {
		// A paid checkout's pay links open nothing from now on. Closed alongside the store (the event is
		// verified, so the payment happened even if the store must be retried) and before the 200: a
		// failure of either is a 503 the gateway retries, and the retry is then a duplicate.
		return await storeVerifiedEvent(archive, leads, {
			body: encodeMessage(event),
			eventId: event.eventId,
			source: provider,
			contentType: 'application/json',
			event,
			closeLinks: true,
		});
	} catch (error) {
		this.logger.error(
			`Payment webhook: archive write not confirmed: ${redactPersonalData((error as Error).message)}`,
		);
		return undefined;
	}
}
