import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

export class CheckoutMercadoPagoApi implements ICredentialType {
	name = 'checkoutMercadoPagoApi';

	displayName = 'Checkout Mercado Pago API';

	icon: Icon = { light: 'file:icons/card.svg', dark: 'file:icons/card.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/payment-webhooks.md#gateway-credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			placeholder: 'APP_USR-…',
		},
		{
			displayName: 'Webhook Secret',
			name: 'webhookSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The secret signature of your integration (Your integrations → Webhooks)',
		},
		{
			displayName: 'Sandbox',
			name: 'sandbox',
			type: 'boolean',
			default: false,
			description: 'Whether to send buyers to the sandbox checkout (sandbox_init_point)',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.mercadopago.com',
			description: 'Change only for a proxy or a test stand-in',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL:
				'={{ /^(https:\\/\\/[A-Za-z0-9.-]+|http:\\/\\/(127\\.0\\.0\\.1|localhost))(:\\d+)?\\/?$/.test(String($credentials.baseUrl || "").trim()) ? String($credentials.baseUrl).trim().replace(/\\/+$/, "") : "https://base-url-must-be-an-origin.invalid" }}',
			url: '/users/me',
			method: 'GET',
		},
	};
}
