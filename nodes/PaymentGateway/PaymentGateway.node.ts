import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import * as payment from './actions/payment';
import { router } from './actions/router';
import { gatewayCredentialDescriptions, providerProperty } from '../shared/gatewayDescriptions';

export class PaymentGateway implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Payment Gateway',
		name: 'paymentGateway',
		icon: { light: 'file:paymentGateway.svg', dark: 'file:paymentGateway.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["provider"] + ": " + $parameter["operation"] }}',
		description:
			'Prefilled payment links and verified, normalised webhooks for Stripe, Mercado Pago and Asaas',
		defaults: { name: 'Payment Gateway' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Verify has a second output for rejected webhooks; the other operations have one, so that an error
		// output (Settings → On Error) comes right after it.
		outputs: `={{ $parameter["operation"] === "verifyWebhook" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Verified" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Rejected" }] : ["${NodeConnectionTypes.Main}"] }}`,
		credentials: gatewayCredentialDescriptions,
		properties: [providerProperty, ...payment.description],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
