import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { leadCapturedMessage } from '../../../../lib/checkout/message';
import { CatalogError, parseCatalog, type CatalogRowInput } from '../../../../lib/forms/catalog';
import { leadRevisionAt, leadRevisionEventId, uuidv7 } from '../../../../lib/forms/ids';
import {
	ADDRESS_FIELDS,
	DEFAULT_MAPPING,
	validateLead,
	type AddressField,
	type FieldMapping,
	type LeadField,
} from '../../../../lib/forms/lead';
import { rejectionAnswer } from '../../../../lib/forms/responses';
import { leadIdOfToken, payLinkFor, type LinkSettings } from '../../../../lib/links/checkoutLinks';
import { CHECKOUT_LINKS_CREDENTIAL, linkSettingsFrom } from '../../../shared/checkoutLinks';
import { itemFailure } from '../../../shared/operation';

const MAPPED: Array<[LeadField, string]> = [
	['email', 'Email Field Names'],
	['name', 'Name Field Names'],
	['phone', 'Phone Field Names'],
	['document', 'CPF/CNPJ Field Names'],
	['product', 'Product Field Names'],
	['price', 'Price Field Names'],
	['consent', 'Consent Field Names'],
	['honeypot', 'Honeypot Field Names'],
	['checkoutToken', 'Checkout Token Field Names'],
];

const mappingProperties: INodeProperties[] = MAPPED.map(([field, displayName]) => ({
	displayName,
	name: `${field}Fields`,
	type: 'string',
	default: DEFAULT_MAPPING[field].join(', '),
	description:
		field === 'price'
			? 'Form field IDs or labels (comma-separated) that hold the amount; read only for products marked Open Price, the catalog prices everything else'
			: `Form field IDs or labels (comma-separated; case, accents and punctuation ignored) that hold the ${field === 'checkoutToken' ? 'random checkout token (Elementor)' : field}`,
}));

const ADDRESS_LABELS: Record<AddressField, string> = {
	city: 'City',
	complement: 'Complement',
	district: 'District (Bairro)',
	number: 'Number',
	postalCode: 'Postal Code (CEP)',
	state: 'State (UF)',
	street: 'Street',
};

const properties: INodeProperties[] = [
	{
		displayName: 'Products',
		name: 'catalog',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Product',
		default: {},
		required: true,
		description:
			"The shop's catalog: the only source of the price. A form names at most which product (its product field, or the form ID, form name or page it is on); a price sent by the form is ignored unless the product is marked Open Price.",
		options: [
			{
				displayName: 'Product',
				name: 'product',
				// A row reads as the shop owner thinks of a product (what, how much, where), not alphabetically.
				// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
				values: [
					{
						displayName: 'Key',
						name: 'key',
						type: 'string',
						default: '',
						placeholder: 'curso-fotografia',
						description:
							"What the form's product field may carry (case, accents and punctuation ignored); the name matches too",
					},
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						placeholder: 'Curso de fotografia',
						description: 'Shown on the payment page and in Pipedrive',
					},
					{
						displayName: 'Price',
						name: 'price',
						type: 'string',
						default: '',
						placeholder: '199,90',
					},
					{
						displayName: 'Currency',
						name: 'currency',
						type: 'string',
						default: '',
						placeholder: 'BRL',
						description: "Empty for the node's currency",
					},
					{
						displayName: 'Open Price',
						name: 'openPrice',
						type: 'boolean',
						default: false,
						description:
							"Whether the buyer chooses the amount (donations): the form's price field is used, at least the minimum",
					},
					{
						displayName: 'Minimum Price',
						name: 'minimumPrice',
						type: 'string',
						default: '',
						placeholder: '5,00',
						displayOptions: { show: { openPrice: [true] } },
					},
					{
						displayName: 'Form IDs',
						name: 'formIds',
						type: 'string',
						default: '',
						description:
							'Comma-separated Elementor form IDs this product is sold with (for forms without a product field)',
					},
					{
						displayName: 'Form Names',
						name: 'formNames',
						type: 'string',
						default: '',
						description: 'Comma-separated form names this product is sold with',
					},
					{
						displayName: 'Page Paths',
						name: 'pagePaths',
						type: 'string',
						default: '',
						placeholder: '/curso-de-fotografia',
						description:
							"Comma-separated page paths (from the Referer or Elementor's page URL) this product is sold on",
					},
				],
			},
		],
	},
	{
		displayName: 'Currency',
		name: 'currency',
		type: 'string',
		default: 'BRL',
		description:
			'For products without their own currency; BRL also turns on Brazilian checks (CEP)',
	},
	{
		displayName: 'Lead ID',
		name: 'leadIdMode',
		type: 'options',
		default: 'random',
		options: [
			{
				name: 'New for Each Post (UUIDv7)',
				value: 'random',
				description: 'Plain HTML forms: the 303 answer carries the buyer on',
			},
			{
				name: 'From the Checkout Token (Elementor)',
				value: 'checkoutToken',
				description:
					'The random token a script put in a hidden field; the Redirect action carries it to the pay URL, and a corrected post updates the same lead',
			},
		],
	},
	...mappingProperties,
	{
		displayName: 'Address Field Names',
		name: 'addressFields',
		type: 'collection',
		placeholder: 'Add Address Field',
		default: {},
		description:
			'Form field IDs or labels of the buyer address, when the names below do not match your form (defaults cover Portuguese and English names)',
		options: (Object.entries(ADDRESS_LABELS) as Array<[AddressField, string]>)
			.sort(([, a], [, b]) => a.localeCompare(b))
			.map(([field, label]) => ({
				displayName: label,
				name: field,
				type: 'string',
				default: DEFAULT_MAPPING[field].join(', '),
				description: `Form field IDs or labels (comma-separated) that hold the ${label.toLowerCase()}`,
			})),
	},
	{ displayName: 'Require Consent (LGPD)', name: 'requireConsent', type: 'boolean', default: true },
	{ displayName: 'Require Phone', name: 'requirePhone', type: 'boolean', default: false },
	{ displayName: 'Require CPF/CNPJ', name: 'requireDocument', type: 'boolean', default: false },
	{
		displayName: 'Require Address',
		name: 'requireAddress',
		type: 'boolean',
		default: false,
		description:
			'Whether postal code (CEP), street and number must be filled in (boleto and invoice gateways ask for them)',
	},
	{
		displayName: 'Back URL',
		name: 'backUrl',
		type: 'string',
		default: '',
		description: 'Where the "go back" link of the error page leads (empty: the browser\'s back)',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['parse'] } }, properties);

const names = (text: unknown) =>
	String(text ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);

async function linkSettings(ctx: IExecuteFunctions): Promise<LinkSettings> {
	const data = await ctx.getCredentials(CHECKOUT_LINKS_CREDENTIAL);
	try {
		return linkSettingsFrom(data);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message);
	}
}

/** Three outputs: valid leads, rejected posts (with the answer to send), dropped bots. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const links = await linkSettings(this);
	const valid: INodeExecutionData[] = [];
	const rejected: INodeExecutionData[] = [];
	const dropped: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const json = items[i].json;
			const headers = (json.headers ?? {}) as IDataObject;
			const currency = String(this.getNodeParameter('currency', i, 'BRL') || 'BRL');
			let catalog;
			try {
				const rows = ((this.getNodeParameter('catalog', i, {}) as IDataObject).product ??
					[]) as CatalogRowInput[];
				catalog = parseCatalog(rows, currency);
				if (!catalog.length)
					throw new CatalogError(
						"Add the shop's products under Products: the catalog is the only source of a checkout's price",
					);
			} catch (error) {
				throw new NodeOperationError(this.getNode(), (error as Error).message, { itemIndex: i });
			}
			const addressNames = this.getNodeParameter('addressFields', i, {}) as IDataObject;
			const mapping = Object.fromEntries([
				...MAPPED.map(([field]) => [
					field,
					names(this.getNodeParameter(`${field}Fields`, i, DEFAULT_MAPPING[field].join(','))),
				]),
				...ADDRESS_FIELDS.map((field) => [
					field,
					field in addressNames ? names(addressNames[field]) : DEFAULT_MAPPING[field],
				]),
			]) as FieldMapping;
			const byToken = this.getNodeParameter('leadIdMode', i) === 'checkoutToken';
			const now = Date.now();
			const result = validateLead(json.body ?? {}, (json.query ?? {}) as IDataObject, {
				mapping,
				catalog,
				currency,
				requireConsent: this.getNodeParameter('requireConsent', i) as boolean,
				requirePhone: this.getNodeParameter('requirePhone', i) as boolean,
				requireDocument: this.getNodeParameter('requireDocument', i) as boolean,
				requireAddress: this.getNodeParameter('requireAddress', i, false) as boolean,
				requireCheckoutToken: byToken,
				contentType:
					typeof headers['content-type'] === 'string' ? headers['content-type'] : undefined,
				referer: typeof headers.referer === 'string' ? headers.referer : undefined,
				now,
			});
			if (result.ok === 'bot') {
				dropped.push({ json: { dropped: true, honeypot: result.field }, pairedItem: { item: i } });
			} else if (result.ok === false) {
				const answer = rejectionAnswer(
					result.errors,
					typeof headers.accept === 'string' ? headers.accept : undefined,
					(this.getNodeParameter('backUrl', i) as string) || undefined,
					result.status,
				);
				rejected.push({
					json: {
						errors: result.errors as unknown as IDataObject[],
						status: answer.status,
						contentType: answer.contentType,
						responseBody: answer.body,
					},
					pairedItem: { item: i },
				});
			} else {
				const leadId =
					byToken && result.checkoutToken ? leadIdOfToken(result.checkoutToken) : uuidv7(now);
				const capturedAt = new Date(now).toISOString();
				const revision = leadRevisionAt({ leadId, ...result.lead }, now);
				const message = leadCapturedMessage({
					leadId,
					eventId: leadRevisionEventId(leadId, revision),
					revision,
					capturedAt,
					lead: result.lead,
					payLink: payLinkFor(leadId, links, now),
				});
				valid.push({ json: message as unknown as IDataObject, pairedItem: { item: i } });
			}
		} catch (error) {
			valid.push(itemFailure(this, error, i));
		}
	}
	return [valid, rejected, dropped];
}
