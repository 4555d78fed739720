import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/**
 * A Pipedrive API token, sent in the `x-api-token` header as Pipedrive's current documentation asks (never
 * in the query string, where it would end up in proxy logs).
 */
export class CheckoutPipedriveApi implements ICredentialType {
	name = 'checkoutPipedriveApi';

	displayName = 'Checkout Pipedrive API';

	icon: Icon = { light: 'file:icons/pipedrive.svg', dark: 'file:icons/pipedrive.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/pipedrive.md#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'API Token',
			name: 'apiToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Pipedrive → your avatar → Personal preferences → API',
		},
		{
			displayName: 'Company Domain',
			name: 'companyDomain',
			type: 'string',
			default: '',
			placeholder: 'mycompany',
			description:
				'The part before .pipedrive.com in your Pipedrive address. Leave empty to use https://api.pipedrive.com.',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://mycompany.pipedrive.com',
			description: 'Overrides the company domain: for a proxy or a test stand-in',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { 'x-api-token': '={{$credentials.apiToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			// The same rules as lib/http/baseUrl.ts: an origin only, a domain of letters, digits and hyphens; else a
			// host that never resolves, so the test fails without sending the token anywhere.
			baseURL:
				'={{ $credentials.baseUrl ? (/^(https:\\/\\/[A-Za-z0-9.-]+|http:\\/\\/(127\\.0\\.0\\.1|localhost))(:\\d+)?\\/?$/.test(String($credentials.baseUrl).trim()) ? String($credentials.baseUrl).trim().replace(/\\/+$/, "") : "https://base-url-must-be-an-origin.invalid") : ($credentials.companyDomain ? (/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(String($credentials.companyDomain).trim()) ? "https://" + String($credentials.companyDomain).trim() + ".pipedrive.com" : "https://company-domain-must-be-a-name.invalid") : "https://api.pipedrive.com") }}',
			url: '/v1/users/me',
			method: 'GET',
		},
	};
}
