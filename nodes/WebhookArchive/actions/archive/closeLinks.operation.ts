import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { leadPaidBy } from '../../../../lib/checkout/message';
import { eventParameter, eventProperty, perItem } from '../../../shared/operation';
import { withNodeArchive } from '../../../shared/transport/s3';

const properties: INodeProperties[] = [
	eventProperty(
		"A confirmed payment event. A paid one closes its lead's pay links (Open Checkout Link then gives its neutral answer); any other passes without a write. The item goes on unchanged.",
	),
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['closeLinks'] } },
	properties,
);

/** For events confirmed downstream (Mercado Pago, Asaas): the intake closed nothing for them. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	return await withNodeArchive(this, async (_inbox, leads) => [
		await perItem(this, async (i) => {
			const event = eventParameter(this, i) as IDataObject;
			const leadRef = event && typeof event === 'object' ? leadPaidBy(event) : undefined;
			if (leadRef)
				await leads.closeLead(leadRef, {
					eventId: String(event.eventId ?? ''),
					occurredAt: typeof event.occurredAt === 'string' ? event.occurredAt : undefined,
				});
			return { json: items[i].json, ...(items[i].binary ? { binary: items[i].binary } : {}) };
		}),
	]);
}
