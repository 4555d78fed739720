/**
 * The fast paths render a gateway credential's generic authentication themselves
 * (lib/http/credentialHeaders.ts): from the credential classes the pack ships, to what n8n's helper would
 * send, and nothing at all (n8n's helper then) for a template with any other expression.
 */
import { CheckoutAsaasApi } from '../../credentials/CheckoutAsaasApi.credentials';
import { CheckoutMercadoPagoApi } from '../../credentials/CheckoutMercadoPagoApi.credentials';
import { CheckoutStripeApi } from '../../credentials/CheckoutStripeApi.credentials';
import {
	renderCredentialHeaders,
	type GenericAuthTemplate,
} from '../../lib/http/credentialHeaders';

const templateOf = (credential: { authenticate: unknown }) =>
	credential.authenticate as GenericAuthTemplate;

test("each gateway credential's headers, rendered from its own authenticate template", () => {
	expect(
		renderCredentialHeaders(templateOf(new CheckoutStripeApi()), { secretKey: 'sk_test_1' }),
	).toEqual({ Authorization: 'Bearer sk_test_1' });
	expect(
		renderCredentialHeaders(templateOf(new CheckoutMercadoPagoApi()), {
			accessToken: 'APP_USR-1',
		}),
	).toEqual({ Authorization: 'Bearer APP_USR-1' });
	expect(
		renderCredentialHeaders(templateOf(new CheckoutAsaasApi()), { apiKey: '$aact_1' }),
	).toEqual({ access_token: '$aact_1', 'User-Agent': 'n8n-nodes-checkout-recovery' });
});

test('a template with anything but $credentials placeholders is left to n8n', () => {
	const template = (value: string): GenericAuthTemplate => ({
		type: 'generic',
		properties: { headers: { Authorization: value } },
	});
	expect(
		renderCredentialHeaders(template('=Bearer {{ $credentials.token }}'), { token: 't' }),
	).toEqual({
		Authorization: 'Bearer t',
	});
	expect(
		renderCredentialHeaders(template('=Bearer {{$credentials.token.toUpperCase()}}'), {
			token: 't',
		}),
	).toBeUndefined();
	expect(renderCredentialHeaders(template('={{ $env.TOKEN }}'), {})).toBeUndefined();
	expect(
		renderCredentialHeaders(
			{ type: 'generic', properties: { qs: { key: '={{$credentials.token}}' } } },
			{ token: 't' },
		),
	).toBeUndefined();
});
