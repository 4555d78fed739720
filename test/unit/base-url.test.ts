import { CheckoutAsaasApi } from '../../credentials/CheckoutAsaasApi.credentials';
import { CheckoutMercadoPagoApi } from '../../credentials/CheckoutMercadoPagoApi.credentials';
import { CheckoutPipedriveApi } from '../../credentials/CheckoutPipedriveApi.credentials';
import { CheckoutStripeApi } from '../../credentials/CheckoutStripeApi.credentials';
import { checkedBaseUrl, pipedriveCompanyUrl } from '../../lib/http/baseUrl';
import { baseUrlOf } from '../../nodes/PipedriveFollowUp/transport';

const TRICKS = [
	'http://api.stripe.com',
	'https://api.stripe.com@evil.example',
	'https://evil.example/?h=api.stripe.com',
	'https://evil.example#api.stripe.com',
	'https://evil.example/api.stripe.com',
	'ftp://evil.example',
	'javascript:alert(1)',
	'evil.example',
];

it('a base URL is an origin and nothing else: userinfo, query, fragment, path and other schemes are refused', () => {
	expect(checkedBaseUrl(' https://api.mercadopago.com/ ', 'Base URL')).toBe(
		'https://api.mercadopago.com',
	);
	expect(checkedBaseUrl('http://127.0.0.1:8090', 'Base URL')).toBe('http://127.0.0.1:8090');
	for (const trick of TRICKS) expect(() => checkedBaseUrl(trick, 'Base URL')).toThrow(/Base URL/);
});

it('a Pipedrive company domain is a name before .pipedrive.com; a pasted address is accepted, a trick is not', () => {
	expect(pipedriveCompanyUrl('minhaloja')).toBe('https://minhaloja.pipedrive.com');
	expect(pipedriveCompanyUrl('https://Minha-Loja.pipedrive.com/')).toBe(
		'https://minha-loja.pipedrive.com',
	);
	for (const trick of [
		'evil.example#',
		'evil.example/x?',
		'a@evil.example',
		'evil.example:443',
		'-x',
		'',
	])
		expect(() => pipedriveCompanyUrl(trick)).toThrow(/Company Domain/);
	expect(() => baseUrlOf({ companyDomain: 'evil.example#' })).toThrow(/Company Domain/);
	expect(() =>
		baseUrlOf({
			apiToken: 't',
			oauthTokenData: { api_domain: 'https://x.pipedrive.com@evil.example' },
		}),
	).toThrow(/api_domain/);
	expect(baseUrlOf({ companyDomain: 'loja' })).toBe('https://loja.pipedrive.com');
});

/** The credential test's baseURL expression, evaluated as n8n would for these credential values. */
function testUrlOf(expression: unknown, credentials: Record<string, unknown>): string {
	const body = String(expression)
		.replace(/^=\{\{/, '')
		.replace(/\}\}$/, '');
	return new Function('$credentials', `return (${body});`)(credentials) as string;
}

it("the credentials' own test requests follow the same rules: a trick sends the secret nowhere", () => {
	for (const Credential of [CheckoutStripeApi, CheckoutMercadoPagoApi, CheckoutAsaasApi]) {
		const expression = new Credential().test.request.baseURL;
		expect(testUrlOf(expression, { baseUrl: 'https://api.example.com/' })).toBe(
			'https://api.example.com',
		);
		for (const trick of TRICKS)
			expect(new URL(testUrlOf(expression, { baseUrl: trick })).hostname).toMatch(/\.invalid$/);
	}
	const pipedrive = new CheckoutPipedriveApi().test.request.baseURL;
	expect(testUrlOf(pipedrive, { companyDomain: 'loja' })).toBe('https://loja.pipedrive.com');
	expect(testUrlOf(pipedrive, {})).toBe('https://api.pipedrive.com');
	expect(new URL(testUrlOf(pipedrive, { companyDomain: 'evil.example#' })).hostname).toMatch(
		/\.invalid$/,
	);
	for (const trick of TRICKS)
		expect(new URL(testUrlOf(pipedrive, { baseUrl: trick })).hostname).toMatch(/\.invalid$/);
});
