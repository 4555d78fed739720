import type { INodeProperties } from 'n8n-workflow';

import * as confirmEvent from './confirmEvent.operation';
import * as createPaymentLink from './createPaymentLink.operation';
import * as getPayment from './getPayment.operation';
import * as verifyWebhook from './verifyWebhook.operation';

export { confirmEvent, createPaymentLink, getPayment, verifyWebhook };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'createPaymentLink',
		options: [
			{
				name: 'Confirm Event',
				value: 'confirmEvent',
				action: 'Confirm an event with the gateway',
				description:
					'Read the payment an archived notification names, so its status and amount come from the gateway',
			},
			{
				name: 'Create Payment Link',
				value: 'createPaymentLink',
				action: 'Create a prefilled payment link',
				description: "A checkout page already filled in with the buyer's data",
			},
			{
				name: 'Get Payment',
				value: 'getPayment',
				action: 'Get a payment',
				description: 'Status by provider ID or by our lead reference',
			},
			{
				name: 'Verify & Normalise Webhook',
				value: 'verifyWebhook',
				action: 'Verify and normalise a webhook',
				description: 'Check the signature on the raw body; output one event shape',
			},
		],
	},
	...confirmEvent.description,
	...createPaymentLink.description,
	...getPayment.description,
	...verifyWebhook.description,
];
