import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';

import { GATEWAYS } from '../../lib/gateways';

/** The provider choice, shared by the Payment Gateway node and the fast-intake trigger: one option per gateway. */
export const providerProperty: INodeProperties = {
	displayName: 'Provider',
	name: 'provider',
	type: 'options',
	noDataExpression: true,
	default: 'stripe',
	options: GATEWAYS.map((gateway) => ({ name: gateway.displayName, value: gateway.id })).sort(
		(a, b) => a.name.localeCompare(b.name),
	),
};

/** Each gateway's credential, asked for when that gateway is the chosen provider. */
export const gatewayCredentialDescriptions: INodeCredentialDescription[] = GATEWAYS.map(
	(gateway) => ({
		name: gateway.credentialType,
		required: true,
		displayOptions: { show: { provider: [gateway.id] } },
	}),
);
