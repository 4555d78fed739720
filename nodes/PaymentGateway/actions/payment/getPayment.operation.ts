import { updateDisplayOptions, NodeOperationError, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { providerFor } from '../../../../lib/gateways';
import type { ProviderId } from '../../../../lib/gateways/types';
import { gatewayRequest, providerCredentials } from '../../transport';

const properties: INodeProperties[] = [
	{
		displayName: 'Look Up By',
		name: 'lookUpBy',
		type: 'options',
		default: 'providerId',
		options: [
			{ name: 'Provider ID', value: 'providerId', description: 'Session, payment or checkout ID of the gateway' },
			{ name: 'Lead Reference', value: 'leadRef', description: 'Our lead ID (not for Stripe sessions)' },
		],
	},
	{ displayName: 'Value', name: 'lookUpValue', type: 'string', default: '', required: true },
];

export const description = updateDisplayOptions({ show: { operation: ['getPayment'] } }, properties);

export async function execute(this: IExecuteFunctions, provider: ProviderId): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const gateway = providerFor(provider);
	const credentials = await providerCredentials(this, provider);
	for (let i = 0; i < items.length; i++) {
		try {
			const by = this.getNodeParameter('lookUpBy', i) as 'providerId' | 'leadRef';
			const value = this.getNodeParameter('lookUpValue', i) as string;
			const body = await gatewayRequest(this, provider, credentials, gateway.getPayment({ [by]: value }), i);
			const status = gateway.parsePayment(body);
			out.push({ json: { ...status, raw: status.raw as IDataObject }, pairedItem: { item: i } });
		} catch (error) {
			if (this.continueOnFail()) {
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
				continue;
			}
			throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
		}
	}
	return out;
}
