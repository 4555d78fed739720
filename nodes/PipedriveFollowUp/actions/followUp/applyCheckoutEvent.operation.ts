import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { applyEvent, type CheckoutEventInput } from '../../../../lib/pipedrive/operations';
import { eventParameter, eventProperty, perItem } from '../../../shared/operation';
import { answerProbe, probeOf } from '../../../shared/probe';
import { pipedriveClientFor } from '../../transport';

const properties: INodeProperties[] = [
	eventProperty(
		'The normalised event of the Payment Gateway node or the Payment Webhook Trigger (eventId, type, occurredAt, leadRef, provider, amount, currency)',
	),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Title of a New Deal',
				name: 'titleTemplate',
				type: 'string',
				default: 'Checkout {{leadId}}',
				description: 'For an event whose lead has no deal yet',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['applyCheckoutEvent'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { client, account, shared } = await pipedriveClientFor(this);
	return [
		await perItem(this, async (i) => {
			const item = this.getInputData()[i];
			if (probeOf(item.json)) return await answerProbe(this, item, 'pipedrive', () => client.me());
			const event = eventParameter(this, i) as CheckoutEventInput;
			if (!event || typeof event !== 'object')
				throw new Error('The Event parameter must be an object (the normalised payment event)');
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const before = client.callCount;
			const result = await applyEvent(client, account, event, {
				titleTemplate: options.titleTemplate as string | undefined,
				shared,
			});
			return {
				json: {
					eventId: event.eventId,
					type: event.type,
					leadRef: event.leadRef ?? null,
					...result,
					pipedriveCalls: client.callCount - before,
				} as IDataObject,
			};
		}),
	];
}
