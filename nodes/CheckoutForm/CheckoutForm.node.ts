/**
 * Checkout Form: the buyer's form post (plain HTML, Elementor Pro webhook, JSON or query) → a validated
 * lead with its id, or a 422 answer naming each bad field. Three outputs: valid, rejected, dropped (a bot
 * that filled the honeypot: answer it as if all went well, store nothing). The parsing and validation is
 * lib/forms, shared with anything else that takes leads.
 */
import {
	NodeConnectionTypes,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { candidateLeadIds, deterministicLeadId, uuidv7 } from '../../lib/forms/ids';
import { ADDRESS_FIELDS, DEFAULT_MAPPING, validateLead, type AddressField, type FieldMapping, type LeadField } from '../../lib/forms/lead';
import { rejectionAnswer } from '../../lib/forms/responses';

const MAPPED: Array<[LeadField, string]> = [
	['email', 'Email Field Names'],
	['name', 'Name Field Names'],
	['phone', 'Phone Field Names'],
	['document', 'CPF/CNPJ Field Names'],
	['product', 'Product Field Names'],
	['price', 'Price Field Names'],
	['consent', 'Consent Field Names'],
	['honeypot', 'Honeypot Field Names'],
];

const mappingProperties: INodeProperties[] = MAPPED.map(([field, displayName]) => ({
	displayName,
	name: `${field}Fields`,
	type: 'string',
	displayOptions: { show: { operation: ['parse'] } },
	default: DEFAULT_MAPPING[field].join(', '),
	description: `Form field IDs or labels (comma-separated; case, accents and punctuation ignored) that hold the ${field}`,
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

/** Address fields are optional for most shops: their names live in a collection, to keep the panel short. */
const addressMappingProperty: INodeProperties = {
	displayName: 'Address Field Names',
	name: 'addressFields',
	type: 'collection',
	placeholder: 'Add Address Field',
	displayOptions: { show: { operation: ['parse'] } },
	default: {},
	description: 'Form field IDs or labels of the buyer address, when the names below do not match your form (defaults cover Portuguese and English names)',
	options: (Object.entries(ADDRESS_LABELS) as Array<[AddressField, string]>)
		.sort(([, a], [, b]) => a.localeCompare(b))
		.map(([field, label]) => ({
			displayName: label,
			name: field,
			type: 'string',
			default: DEFAULT_MAPPING[field].join(', '),
			description: `Form field IDs or labels (comma-separated) that hold the ${label.toLowerCase()}`,
		})),
};

export class CheckoutForm implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Checkout Form',
		name: 'checkoutForm',
		icon: { light: 'file:checkoutForm.svg', dark: 'file:checkoutForm.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: 'Parse & validate a checkout form',
		description: 'Turns a WordPress / Elementor checkout form post into a validated lead, or a 422 that names the bad fields',
		defaults: { name: 'Checkout Form' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Valid', 'Rejected', 'Dropped (Bot)'],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				default: 'parse',
				options: [
					{ name: 'Parse & Validate', value: 'parse', action: 'Parse and validate a checkout form', description: 'A form post becomes a lead, or a 422 naming the bad fields' },
					{
						name: 'Find Lead for Redirect',
						value: 'redirectLookup',
						action: 'Find the lead ids a redirect points to',
						description: 'From the query: lead (an ID) or email (Elementor Redirect); gives the lead IDs to look up in the archive',
					},
				],
			},
			{
				displayName: 'Lead ID',
				name: 'leadIdMode',
				type: 'options',
				default: 'random',
				displayOptions: { show: { operation: ['parse'] } },
				options: [
					{ name: 'New for Each Post (UUIDv7)', value: 'random', description: 'Plain HTML forms: the answer carries the buyer on' },
					{
						name: 'Same for the Same E-Mail Within 30 Minutes',
						value: 'byEmail',
						description: 'Elementor: its Redirect then finds the lead from the e-mail alone, and a double submit is one lead',
					},
				],
			},
			...mappingProperties,
			addressMappingProperty,
			{ displayName: 'Require Consent (LGPD)', name: 'requireConsent', type: 'boolean', default: true, displayOptions: { show: { operation: ['parse'] } } },
			{ displayName: 'Require Phone', name: 'requirePhone', displayOptions: { show: { operation: ['parse'] } }, type: 'boolean', default: false },
			{ displayName: 'Require CPF/CNPJ', name: 'requireDocument', displayOptions: { show: { operation: ['parse'] } }, type: 'boolean', default: false },
			{
				displayName: 'Require Address',
				name: 'requireAddress',
				displayOptions: { show: { operation: ['parse'] } },
				type: 'boolean',
				default: false,
				description: 'Whether postal code (CEP), street and number must be filled in (boleto and invoice gateways ask for them)',
			},
			{ displayName: 'Default Product', name: 'defaultProduct', displayOptions: { show: { operation: ['parse'] } }, type: 'string', default: '', description: 'For a form that sells one product and has no product field' },
			{ displayName: 'Default Price', name: 'defaultPrice', displayOptions: { show: { operation: ['parse'] } }, type: 'string', default: '', description: 'For a form without a price field, e.g. 199,90' },
			{ displayName: 'Currency', name: 'currency', displayOptions: { show: { operation: ['parse'] } }, type: 'string', default: 'BRL' },
			{ displayName: 'Back URL', name: 'backUrl', displayOptions: { show: { operation: ['parse'] } }, type: 'string', default: '', description: 'Where the "go back" link of the error page leads (empty: the browser\'s back)' },
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		if (this.getNodeParameter('operation', 0) === 'redirectLookup') {
			const found: INodeExecutionData[] = items.map((item, i) => {
				const query = (item.json.query ?? {}) as IDataObject;
				const lead = typeof query.lead === 'string' ? query.lead.trim() : '';
				const email = typeof query.email === 'string' ? query.email.trim() : '';
				const leadIds = lead ? [lead] : email ? candidateLeadIds(email, Date.now()) : [];
				return { json: { leadIds: leadIds.join(','), found: leadIds.length > 0 }, pairedItem: { item: i } };
			});
			return [found, [], []];
		}
		const valid: INodeExecutionData[] = [];
		const rejected: INodeExecutionData[] = [];
		const dropped: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			const json = items[i].json;
			const headers = (json.headers ?? {}) as IDataObject;
			const names = (text: unknown) => String(text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
			const addressNames = this.getNodeParameter('addressFields', i, {}) as IDataObject;
			const mapping = Object.fromEntries([
				...MAPPED.map(([field]) => [field, names(this.getNodeParameter(`${field}Fields`, i, ''))]),
				...ADDRESS_FIELDS.map((field) => [field, field in addressNames ? names(addressNames[field]) : DEFAULT_MAPPING[field]]),
			]) as FieldMapping;
			const now = Date.now();
			const result = validateLead(json.body ?? {}, (json.query ?? {}) as IDataObject, {
				mapping,
				requireConsent: this.getNodeParameter('requireConsent', i) as boolean,
				requirePhone: this.getNodeParameter('requirePhone', i) as boolean,
				requireDocument: this.getNodeParameter('requireDocument', i) as boolean,
				requireAddress: this.getNodeParameter('requireAddress', i, false) as boolean,
				defaultProduct: (this.getNodeParameter('defaultProduct', i) as string) || undefined,
				defaultPrice: (this.getNodeParameter('defaultPrice', i) as string) || undefined,
				currency: this.getNodeParameter('currency', i) as string,
				referer: typeof headers.referer === 'string' ? headers.referer : undefined,
				now,
			});
			if (result.ok === 'bot') {
				dropped.push({ json: { dropped: true, honeypot: result.field }, pairedItem: { item: i } });
			} else if (result.ok === false) {
				const answer = rejectionAnswer(result.errors, typeof headers.accept === 'string' ? headers.accept : undefined, (this.getNodeParameter('backUrl', i) as string) || undefined);
				rejected.push({ json: { errors: result.errors as unknown as IDataObject[], status: answer.status, contentType: answer.contentType, responseBody: answer.body }, pairedItem: { item: i } });
			} else {
				const leadId = this.getNodeParameter('leadIdMode', i) === 'byEmail' ? deterministicLeadId(result.lead.email, now) : uuidv7(now);
				valid.push({ json: { leadId, type: 'lead.captured', capturedAt: new Date(now).toISOString(), ...(result.lead as unknown as IDataObject) }, pairedItem: { item: i } });
			}
		}
		return [valid, rejected, dropped];
	}
}
