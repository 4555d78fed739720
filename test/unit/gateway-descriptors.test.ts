/**
 * One descriptor per gateway (lib/gateways/<provider>): the nodes' Provider option, the credentials they
 * ask for and the webhook-secret lookup are derived from it. These checks stand in for what n8n's lint
 * rules checked while the lists were written out by hand: every derived credential exists, is registered,
 * and holds the secret field the descriptor names.
 */
import { CheckoutFormTrigger } from '../../nodes/CheckoutFormTrigger/CheckoutFormTrigger.node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ICredentialType, INodeCredentialDescription } from 'n8n-workflow';

import { GATEWAYS, PROVIDERS, providerFor, webhookSecretOf } from '../../lib/gateways';
import type { ProviderId } from '../../lib/gateways/types';
import { PaymentGateway } from '../../nodes/PaymentGateway/PaymentGateway.node';
import { PaymentWebhookTrigger } from '../../nodes/PaymentWebhookTrigger/PaymentWebhookTrigger.node';
import { providerProperty } from '../../nodes/shared/gatewayDescriptions';

const root = join(__dirname, '../..');
const registered = (
	JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
		n8n: { credentials: string[] };
	}
).n8n.credentials;

/** The credential types package.json registers, by name. */
const credentialTypes = new Map<string, ICredentialType>(
	registered.map((built) => {
		const file = join(root, built.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		const exported = require(file) as Record<string, new () => ICredentialType>;
		const [type] = Object.values(exported).map((Type) => new Type());
		return [type.name, type];
	}),
);

it('names every gateway under its own id', () => {
	for (const [id, gateway] of Object.entries(PROVIDERS)) expect(gateway.id).toBe(id);
	expect(GATEWAYS.map((gateway) => gateway.id)).toEqual(Object.keys(PROVIDERS));
});

it.each(GATEWAYS.map((gateway) => [gateway.id, gateway]))(
	'%s: its credential is registered, ends in Api and holds the webhook secret as a password',
	(_id, gateway) => {
		const credential = credentialTypes.get(gateway.credentialType);
		expect(credential).toBeDefined();
		expect(gateway.credentialType).toMatch(/Api$/);
		const secretField = credential!.properties.find(
			(property) => property.name === gateway.webhookSecretField,
		);
		expect(secretField).toMatchObject({ type: 'string', typeOptions: { password: true } });
	},
);

it('reads the webhook secret from the field its gateway names', () => {
	const credentials = { webhookSecret: 'the-secret', webhookToken: 'the-token' };
	expect(webhookSecretOf('stripe', credentials)).toBe('the-secret');
	expect(webhookSecretOf('mercadopago', credentials)).toBe('the-secret');
	expect(webhookSecretOf('asaas', credentials)).toBe('the-token');
	expect(webhookSecretOf('stripe', {})).toBe('');
});

it('knows no gateway by a name that is not one', () => {
	expect(() => providerFor('constructor')).toThrow(/Unknown payment provider "constructor"/);
	expect(() => providerFor('paypal')).toThrow(/known: stripe, mercadopago, asaas/);
});

it('offers one Provider option per gateway, sorted by name, with a gateway as default', () => {
	const options = (providerProperty.options ?? []) as Array<{ name: string; value: ProviderId }>;
	expect(options).toEqual([
		{ name: 'Asaas', value: 'asaas' },
		{ name: 'Mercado Pago', value: 'mercadopago' },
		{ name: 'Stripe', value: 'stripe' },
	]);
	expect(Object.keys(PROVIDERS)).toContain(providerProperty.default);
});

describe.each([
	['Payment Gateway', new PaymentGateway().description.credentials ?? []],
	['Payment Webhook Trigger', new PaymentWebhookTrigger().description.credentials ?? []],
	['Checkout Form Trigger', new CheckoutFormTrigger().description.credentials ?? []],
])('%s', (_node, credentials: INodeCredentialDescription[]) => {
	it("asks for each gateway's credential when, and only when, that gateway is chosen", () => {
		for (const gateway of GATEWAYS) {
			const entries = credentials.filter((entry) => entry.name === gateway.credentialType);
			expect(entries).toEqual([
				{
					name: gateway.credentialType,
					required: true,
					displayOptions: { show: { provider: [gateway.id] } },
				},
			]);
		}
	});
	it('lists only credentials package.json registers', () => {
		for (const entry of credentials) expect(credentialTypes.has(entry.name)).toBe(true);
	});
});
