/**
 * The lead form's settings as node parameters (catalog, field names, what is required), shared by
 * Checkout Form → Parse and the Checkout Form Trigger, and read into lib/forms/capture's settings.
 */
import {
	NodeOperationError,
	type IDataObject,
	type INode,
	type INodeProperties,
} from 'n8n-workflow';

import { CatalogError, parseCatalog, type CatalogRowInput } from '../../lib/forms/catalog';
import type { LeadFormSettings } from '../../lib/forms/capture';
import {
	ADDRESS_FIELDS,
	DEFAULT_MAPPING,
	type AddressField,
	type FieldMapping,
	type LeadField,
} from '../../lib/forms/lead';

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

export const leadFormProperties: INodeProperties[] = [
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

const names = (text: unknown) =>
	String(text ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);

/** A node parameter by name, with its default (an item's, in an execution; the request's, in a webhook). */
export type ParameterOf = (name: string, fallback: unknown) => unknown;

/** The settings the parameters above describe; a catalog that prices nothing is the node's error. */
export function readLeadFormSettings(node: INode, parameter: ParameterOf): LeadFormSettings {
	const currency = String(parameter('currency', 'BRL') || 'BRL');
	let catalog;
	try {
		const rows = ((parameter('catalog', {}) as IDataObject).product ?? []) as CatalogRowInput[];
		catalog = parseCatalog(rows, currency);
		if (!catalog.length)
			throw new CatalogError(
				"Add the shop's products under Products: the catalog is the only source of a checkout's price",
			);
	} catch (error) {
		throw new NodeOperationError(node, (error as Error).message);
	}
	const addressNames = parameter('addressFields', {}) as IDataObject;
	const mapping = Object.fromEntries([
		...MAPPED.map(([field]) => [
			field,
			names(parameter(`${field}Fields`, DEFAULT_MAPPING[field].join(','))),
		]),
		...ADDRESS_FIELDS.map((field) => [
			field,
			field in addressNames ? names(addressNames[field]) : DEFAULT_MAPPING[field],
		]),
	]) as FieldMapping;
	return {
		mapping,
		catalog,
		currency,
		requireConsent: parameter('requireConsent', true) as boolean,
		requirePhone: parameter('requirePhone', false) as boolean,
		requireDocument: parameter('requireDocument', false) as boolean,
		requireAddress: parameter('requireAddress', false) as boolean,
		leadIdFromToken: parameter('leadIdMode', 'random') === 'checkoutToken',
		backUrl: (parameter('backUrl', '') as string) || undefined,
	};
}
