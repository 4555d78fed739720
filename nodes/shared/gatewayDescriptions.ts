import type { INodeProperties } from 'n8n-workflow';

/** The provider choice, shared by the Payment Gateway node and the fast-intake trigger. */
export const providerProperty: INodeProperties = {
	displayName: 'Provider',
	name: 'provider',
	type: 'options',
	noDataExpression: true,
	default: 'stripe',
	options: [
		{ name: 'Asaas', value: 'asaas' },
		{ name: 'Mercado Pago', value: 'mercadopago' },
		{ name: 'Stripe', value: 'stripe' },
	],
};
