import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

export class CheckoutStripeApi implements ICredentialType {
	name = 'checkoutStripeApi';

	displayName = 'Checkout Stripe API';

	icon: Icon = { light: 'file:icons/card.svg', dark: 'file:icons/card.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/payment-webhooks.md#gateway-credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Secret Key',
			name: 'secretKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'sk_live_…',
		},
		{
			displayName: 'Webhook Signing Secret',
			name: 'webhookSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'whsec_…',
			description:
				'The signing secret of the webhook endpoint in the Stripe Dashboard (Developers → Webhooks)',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.stripe.com',
			description: 'Change only for a proxy or a test stand-in',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.secretKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{ /^(https:\\/\\/[A-Za-z0-9.-]+|http:\\/\\/(127\\.0\\.0\\.1|localhost))(:\\d+)?\\/?$/.test(String($credentials.baseUrl || "").trim()) ? String($credentials.baseUrl).trim().replace(/\\/+$/, "") : "https://base-url-must-be-an-origin.invalid" }}',
			url: '/v1/balance',
			method: 'GET',
		},
	};
}
