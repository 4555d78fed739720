import {
	updateDisplayOptions,
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { storeVerifiedEvent } from '../../../../lib/archive/verifiedEvent';
import { perItem } from '../../../shared/operation';
import { withNodeArchive } from '../../../shared/transport/s3';

const properties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'string',
		default: 'webhook',
		placeholder: 'stripe',
		description:
			'What sent this: a gateway name, or "lead" for form leads. Travels with the message.',
	},
	{
		displayName: 'Data From',
		name: 'dataFrom',
		type: 'options',
		default: 'binary',
		options: [
			{
				name: 'Raw Body (Binary Property)',
				value: 'binary',
				description: 'The exact bytes received: turn on "Raw Body" in the Webhook node',
			},
			{ name: 'Item JSON', value: 'json', description: 'The whole JSON of the item' },
			{ name: 'JSON Field', value: 'field', description: 'One field of the item, e.g. body' },
		],
	},
	{
		displayName: 'Binary Property',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		displayOptions: { show: { dataFrom: ['binary'] } },
	},
	{
		displayName: 'Field',
		name: 'field',
		type: 'string',
		default: 'body',
		description: 'Dot path of the field to store; a string is stored as is, anything else as JSON',
		displayOptions: { show: { dataFrom: ['field'] } },
	},
	{
		displayName: 'Event ID',
		name: 'eventId',
		type: 'string',
		default: '',
		placeholder: 'evt_3PxY9zA2eZvKYlo2',
		description:
			'Identifies the event for duplicate detection and becomes the message ID. Leave empty to use the SHA-256 of the body (an identical retry is then a duplicate).',
	},
	{
		displayName: 'Close Checkout Links When Paid',
		name: 'closeLinksWhenPaid',
		type: 'boolean',
		default: false,
		displayOptions: { show: { dataFrom: ['json'] } },
		description:
			'Whether a normalised payment event of type "paid" (the Payment Gateway node\'s output) also closes its lead\'s pay links, so that they open nothing from then on. Written before the node answers; a failure fails the item, so the gateway retries. A claim still to be confirmed (Mercado Pago, Asaas) closes nothing here: the processor closes its links after Confirm Event.',
	},
	{
		displayName: 'Headers to Keep',
		name: 'headersToKeep',
		type: 'string',
		default: '',
		placeholder: 'stripe-signature, x-signature',
		description:
			'Comma-separated request header names (read from the item\'s "headers") stored with the object',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['store'] } },
	properties,
);

function pick(obj: unknown, path: string): unknown {
	return path
		.split('.')
		.filter(Boolean)
		.reduce<unknown>(
			(o, k) => (o && typeof o === 'object' ? (o as IDataObject)[k] : undefined),
			obj,
		);
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	// A write S3 did not confirm fails the item (or goes to the error output), so the workflow answers 5xx
	// and the sender retries.
	return await withNodeArchive(this, async (archive, leads) => [
		await perItem(this, async (i) => {
			const dataFrom = this.getNodeParameter('dataFrom', i) as string;
			let body: Buffer;
			let contentType: string | undefined;
			if (dataFrom === 'binary') {
				const property = this.getNodeParameter('binaryPropertyName', i) as string;
				const binary = this.helpers.assertBinaryData(i, property);
				body = await this.helpers.getBinaryDataBuffer(i, property);
				contentType = binary.mimeType;
			} else if (dataFrom === 'field') {
				const field = this.getNodeParameter('field', i) as string;
				const value = pick(items[i].json, field);
				if (value === undefined) {
					throw new NodeOperationError(
						this.getNode(),
						`Field "${field}" is missing from item ${i}`,
						{ itemIndex: i },
					);
				}
				body = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8');
			} else {
				body = Buffer.from(JSON.stringify(items[i].json), 'utf8');
				contentType = 'application/json';
			}
			const wanted = (this.getNodeParameter('headersToKeep', i, '') as string)
				.split(',')
				.map((h) => h.trim().toLowerCase())
				.filter(Boolean);
			const received = (items[i].json.headers ?? {}) as IDataObject;
			const headers: Record<string, string> = {};
			for (const name of wanted) {
				const value = received[name];
				if (value !== undefined && value !== null) headers[name] = String(value);
			}
			const { linksClosed, ...stored } = await storeVerifiedEvent(archive, leads, {
				body,
				eventId: String(this.getNodeParameter('eventId', i, '') ?? ''),
				source: this.getNodeParameter('source', i) as string,
				contentType,
				headers,
				event: items[i].json,
				closeLinks:
					dataFrom === 'json' && this.getNodeParameter('closeLinksWhenPaid', i, false) === true,
			});
			return { json: { ...stored, ...(linksClosed ? { linksClosed: true } : {}) } };
		}),
	]);
}
