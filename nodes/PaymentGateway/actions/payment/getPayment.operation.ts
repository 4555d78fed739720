import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { perItem } from '../../../shared/operation';
import { gatewayCredentials, gatewayRequest } from '../../../shared/transport/gateway';
import { chosenGateway } from './provider';

const properties: INodeProperties[] = [
	{
		displayName: 'Look Up By',
		name: 'lookUpBy',
		type: 'options',
		default: 'providerId',
		options: [
			{
				name: 'Provider ID',
				value: 'providerId',
				description: 'Session, payment or checkout ID of the gateway',
			},
			{
				name: 'Lead Reference',
				value: 'leadRef',
				description: 'Our lead ID (not for Stripe sessions)',
			},
		],
	},
	{ displayName: 'Value', name: 'lookUpValue', type: 'string', default: '', required: true },
];

export const description = updateDisplayOptions(
	{ show: { operation: ['getPayment'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { provider, gateway } = chosenGateway(this);
	const credentials = await gatewayCredentials(this, provider);
	return [
		await perItem(this, async (i) => {
			const by = this.getNodeParameter('lookUpBy', i) as 'providerId' | 'leadRef';
			const value = this.getNodeParameter('lookUpValue', i) as string;
			const status = gateway.parsePayment(
				await gatewayRequest(this, provider, credentials, gateway.getPayment({ [by]: value }), i),
			);
			return { json: { ...status, raw: status.raw as IDataObject } };
		}),
	];
}
