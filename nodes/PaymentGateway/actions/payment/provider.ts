import type { IExecuteFunctions } from 'n8n-workflow';

import { providerFor } from '../../../../lib/gateways';
import type { GatewayProvider, ProviderId } from '../../../../lib/gateways/types';

/** The gateway the node's "Provider" parameter names: one choice for all items of a run. */
export function chosenGateway(ctx: IExecuteFunctions): {
	provider: ProviderId;
	gateway: GatewayProvider;
} {
	const provider = ctx.getNodeParameter('provider', 0) as ProviderId;
	return { provider, gateway: providerFor(provider) };
}
