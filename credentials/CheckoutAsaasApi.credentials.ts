import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

export class CheckoutAsaasApi implements ICredentialType {
	name = 'checkoutAsaasApi';

	displayName = 'Checkout Asaas API';

	icon: Icon = { light: 'file:icons/card.svg', dark: 'file:icons/card.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/payment-webhooks.md#gateway-credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
		},
		{
			displayName: 'Webhook Authentication Token',
			name: 'webhookToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The authentication token set on the webhook in Asaas; Asaas sends it in the asaas-access-token header',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.asaas.com',
			description:
				'https://api-sandbox.asaas.com for the sandbox; a proxy or a test stand-in otherwise',
		},
		{
			displayName: 'Checkout Page URL',
			name: 'checkoutPageUrl',
			type: 'string',
			default: 'https://asaas.com',
			description:
				'Where buyers open a checkout (/checkoutSession/show?ID=…); https://sandbox.asaas.com for the sandbox',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		// Asaas requires a User-Agent on accounts created after 2024-06-13.
		properties: {
			headers: {
				access_token: '={{$credentials.apiKey}}',
				'User-Agent': 'n8n-nodes-checkout-recovery',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{ /^(https:\\/\\/[A-Za-z0-9.-]+|http:\\/\\/(127\\.0\\.0\\.1|localhost))(:\\d+)?\\/?$/.test(String($credentials.baseUrl || "").trim()) ? String($credentials.baseUrl).trim().replace(/\\/+$/, "") : "https://base-url-must-be-an-origin.invalid" }}',
			url: '/v3/finance/balance',
			method: 'GET',
		},
	};
}
