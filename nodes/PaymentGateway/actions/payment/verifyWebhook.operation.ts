import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { lowerCaseHeaders, webhookSecretOf } from '../../../../lib/gateways';
import { textRecord } from '../../../../lib/http/untrusted';
import { gatewayCredentials } from '../../../shared/transport/gateway';
import { chosenGateway } from './provider';

const properties: INodeProperties[] = [
	{
		displayName: 'Raw Body Binary Property',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		description:
			'The exact bytes received: turn on "Raw Body" in the Webhook node. Headers and query are read from the item.',
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['verifyWebhook'] } },
	properties,
);

/** Two outputs: [verified, rejected]. A rejected item carries the reason and never the event. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { provider, gateway } = chosenGateway(this);
	const items = this.getInputData();
	const verified: INodeExecutionData[] = [];
	const rejected: INodeExecutionData[] = [];
	const credentials = await gatewayCredentials(this, provider);
	const secret = webhookSecretOf(provider, credentials);
	for (let i = 0; i < items.length; i++) {
		const property = this.getNodeParameter('binaryPropertyName', i) as string;
		const item = items[i];
		const reject = (reason: string) =>
			rejected.push({ json: { verified: false, provider, reason }, pairedItem: { item: i } });
		if (!item.binary?.[property]) {
			reject(`no raw body in binary property "${property}" (turn on Raw Body in the Webhook node)`);
			continue;
		}
		const rawBody = await this.helpers.getBinaryDataBuffer(i, property);
		const input = {
			rawBody,
			headers: lowerCaseHeaders((item.json.headers ?? {}) as IDataObject),
			query: textRecord(item.json.query as IDataObject | undefined),
		};
		// Verification only: a claim that needs the gateway's record (Mercado Pago, Asaas) carries `confirm`
		// and is confirmed downstream, so the webhook's answer does not wait on the gateway's API.
		const outcome = gateway.verifyWebhook(input, secret, Date.now());
		if (!outcome.ok) {
			reject(outcome.reason);
			continue;
		}
		verified.push({
			json: { ...outcome.event, raw: outcome.event.raw as IDataObject },
			binary: item.binary,
			pairedItem: { item: i },
		});
	}
	return [verified, rejected];
}
