import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * Pipedrive through OAuth 2 (a Marketplace app). n8n keeps and refreshes the token; requests go to the
 * `api_domain` of the token answer unless a base URL is set.
 */
export class CheckoutPipedriveOAuth2Api implements ICredentialType {
	name = 'checkoutPipedriveOAuth2Api';

	extends = ['oAuth2Api'];

	displayName = 'Checkout Pipedrive OAuth2 API';

	icon: Icon = { light: 'file:icons/pipedrive.svg', dark: 'file:icons/pipedrive.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/pipedrive.md#credentials';

	properties: INodeProperties[] = [
		{ displayName: 'Grant Type', name: 'grantType', type: 'hidden', default: 'authorizationCode' },
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: 'https://oauth.pipedrive.com/oauth/authorize',
			required: true,
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: 'https://oauth.pipedrive.com/oauth/token',
			required: true,
		},
		{ displayName: 'Scope', name: 'scope', type: 'hidden', default: '' },
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: '',
		},
		// Pipedrive's token endpoint wants the client id and secret as HTTP Basic auth.
		{ displayName: 'Authentication', name: 'authentication', type: 'hidden', default: 'header' },
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://mycompany.pipedrive.com',
			description: 'Leave empty to use the company domain Pipedrive returns with the token',
		},
	];
}
