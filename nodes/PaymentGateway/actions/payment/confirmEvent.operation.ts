import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { confirmEvent } from '../../../../lib/gateways';
import type { NormalisedEvent } from '../../../../lib/gateways/types';
import { eventParameter, eventProperty, perItem } from '../../../shared/operation';
import { answerProbe, probeOf } from '../../../shared/probe';
import { gatewayCredentials, gatewayRequest } from '../../../shared/transport/gateway';
import { chosenGateway } from './provider';

const properties: INodeProperties[] = [
	eventProperty(
		"The normalised event as the intake archived it. An event that is only a claim (a Mercado Pago notification, an Asaas event) is read back from the gateway: its status, amount and lead then come from the payment's record. Other events pass unchanged.",
	),
];

export const description = updateDisplayOptions(
	{ show: { operation: ['confirmEvent'] } },
	properties,
);

/**
 * The processor's step between the queue and Pipedrive. A failure (the gateway down, a payment it does
 * not know yet) fails the item, so the queue trigger retries the message and finally dead-letters it with
 * the error as its reason.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { provider, gateway } = chosenGateway(this);
	let credentials: IDataObject | undefined;
	return [
		await perItem(this, async (i) => {
			const item = this.getInputData()[i];
			// A paused queue's probe (nodes/shared/probe.ts): one read of a payment that does not exist.
			if (probeOf(item.json))
				return await answerProbe(this, item, provider, async () => {
					credentials ??= await gatewayCredentials(this, provider);
					await gatewayRequest(
						this,
						provider,
						credentials,
						gateway.getPayment({ providerId: 'checkout-probe' }),
						i,
					);
				});
			const event = eventParameter(this, i) as NormalisedEvent;
			if (!event || typeof event !== 'object' || typeof event.eventId !== 'string')
				throw new Error(
					'The Event parameter must be a normalised payment event (eventId, type, provider)',
				);
			if (!event.confirm) return { json: event as unknown as IDataObject };
			credentials ??= await gatewayCredentials(this, provider);
			const confirmed = await confirmEvent(gateway, event, async (spec) =>
				gatewayRequest(this, provider, credentials!, spec, i),
			);
			return {
				json: { ...confirmed, confirmedAt: new Date().toISOString() } as unknown as IDataObject,
			};
		}),
	];
}
