import {
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import {
	DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR,
	DEFAULT_REUSE_OPEN_DEAL_HOURS,
	leadInputFrom,
	optionalNumber,
	upsertLead,
	type UpsertLeadOptions,
} from '../../../../lib/pipedrive/operations';
import { perItem } from '../../../shared/operation';
import { answerProbe, probeOf } from '../../../shared/probe';
import { pipedriveClientFor } from '../../transport';

const properties: INodeProperties[] = [
	{
		displayName: 'Lead ID',
		name: 'leadId',
		type: 'string',
		default: '={{ $json.leadId }}',
		required: true,
		description:
			'Matches the deal: a lead delivered twice updates its one deal (see also Reuse Open Deal Within)',
	},
	{
		displayName: 'Email',
		name: 'email',
		type: 'string',
		placeholder: 'name@email.com',
		default: '={{ $json.email }}',
		required: true,
	},
	{
		displayName: 'Name',
		name: 'name',
		type: 'string',
		default: '={{ $json.name }}',
		required: true,
	},
	{ displayName: 'Phone', name: 'phone', type: 'string', default: '={{ $json.phone }}' },
	{ displayName: 'Product', name: 'product', type: 'string', default: '={{ $json.product }}' },
	{
		displayName: 'Amount (Cents)',
		name: 'amount',
		type: 'string',
		default: '={{ $json.amount }}',
		description:
			'In minor units, as the Checkout Form outputs it; the deal value is this divided by 100',
	},
	{
		displayName: 'Currency',
		name: 'currency',
		type: 'string',
		default: '={{ $json.currency || "BRL" }}',
	},
	{
		displayName: 'Pipeline Name or ID',
		name: 'pipelineId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getPipelinesForNewDeals' },
		default: '',
		description:
			'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
	},
	{
		displayName: 'Stage Name or ID',
		name: 'stageId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getStages', loadOptionsDependsOn: ['pipelineId'] },
		default: '',
		description:
			'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
	},
	{
		displayName: 'Owner Name or ID',
		name: 'ownerId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getOwnersOfNewDeals' },
		default: '',
		description:
			'Owner of new persons and deals; empty for the credential\'s user. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Add Note',
				name: 'addNote',
				type: 'boolean',
				default: true,
				description:
					'Whether to add a note with the form, referrer and UTM data to a new deal, or to the deal of a second submit',
			},
			{
				displayName: 'Captured At',
				name: 'capturedAt',
				type: 'string',
				default: '={{ $json.capturedAt }}',
				description: 'When the lead was captured (ISO); follow-up delays count from it',
			},
			{
				displayName: 'Deal Lookup',
				name: 'dealLookup',
				type: 'options',
				default: 'existingPersonsOnly',
				options: [
					{
						name: 'For Existing Persons Only',
						value: 'existingPersonsOnly',
						description:
							'Looks among the deals of a person already in Pipedrive; a person just created has none (4 calls per new lead)',
					},
					{
						name: 'Always',
						value: 'always',
						description:
							'Also searches every deal by lead ID first: for leads replayed after their payment events, whose deals have no person yet',
					},
				],
			},
			{
				displayName: 'Form Name',
				name: 'formName',
				type: 'string',
				default: '={{ $json.form ? $json.form.name : "" }}',
			},
			{ displayName: 'Gateway', name: 'gateway', type: 'string', default: '' },
			{
				displayName: 'Max Leads per E-Mail per Hour',
				name: 'maxLeadsPerBuyerPerHour',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR,
				description:
					"Leads of one e-mail per hour that make Pipedrive calls. Past it (a loop of posts with someone's e-mail) a lead makes none: it is mapped to the buyer's latest deal, so a payment through its link still wins it, and stays in the archive. 0 turns the cap off.",
			},
			{
				displayName: 'Payment Link',
				name: 'paymentLink',
				type: 'string',
				default: '',
				description:
					'Where follow-ups send the buyer back to pay ({{paymentLink}} in rule templates): the signed pay link the Checkout Form gives the lead (payLink). Rules with a Checkout Links credential put a renewed one in instead.',
			},
			{
				displayName: 'Referrer',
				name: 'referrer',
				type: 'string',
				default: '={{ $json.referrer }}',
			},
			{
				displayName: 'Reuse Open Deal Within (Hours)',
				name: 'reuseOpenDealHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_REUSE_OPEN_DEAL_HOURS,
				description:
					'A buyer who submits the form again (with a new lead ID) goes to their open, unpaid checkout deal of the same product if it moved within this many hours, instead of a new deal. 0 always opens a new deal.',
			},
			{
				displayName: 'Title',
				name: 'titleTemplate',
				type: 'string',
				default: '{{product}} – {{name}}',
				description: 'Deal title for new deals; {{name}}, {{product}} and {{email}} are replaced',
			},
			{
				displayName: 'UTM Data',
				name: 'utm',
				type: 'json',
				default: '={{ $json.utm }}',
				description: 'An object of UTM parameters, written into the note',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['upsertLead'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { client, account, shared } = await pipedriveClientFor(this);
	return [
		await perItem(this, async (i) => {
			const item = this.getInputData()[i];
			if (probeOf(item.json)) return await answerProbe(this, item, 'pipedrive', () => client.me());
			const options = this.getNodeParameter('options', i, {}) as IDataObject;
			const lead = leadInputFrom({
				leadId: this.getNodeParameter('leadId', i),
				email: this.getNodeParameter('email', i),
				name: this.getNodeParameter('name', i),
				phone: this.getNodeParameter('phone', i, ''),
				product: this.getNodeParameter('product', i, ''),
				amount: this.getNodeParameter('amount', i, ''),
				currency: this.getNodeParameter('currency', i, 'BRL'),
				utm: options.utm,
				referrer: options.referrer,
				formName: options.formName,
				capturedAt: options.capturedAt,
				paymentLink: options.paymentLink,
				gateway: options.gateway,
			});
			const settings: UpsertLeadOptions = {
				pipelineId: optionalNumber(this.getNodeParameter('pipelineId', i, '')),
				stageId: optionalNumber(this.getNodeParameter('stageId', i, '')),
				ownerId: optionalNumber(this.getNodeParameter('ownerId', i, '')),
				titleTemplate:
					(typeof options.titleTemplate === 'string' && options.titleTemplate.trim()) ||
					'{{product}} – {{name}}',
				dealLookup:
					(options.dealLookup as UpsertLeadOptions['dealLookup']) ?? 'existingPersonsOnly',
				addNote: options.addNote !== false,
				shared,
				reuseOpenDealHours:
					typeof options.reuseOpenDealHours === 'number'
						? options.reuseOpenDealHours
						: DEFAULT_REUSE_OPEN_DEAL_HOURS,
				maxLeadsPerBuyerPerHour:
					typeof options.maxLeadsPerBuyerPerHour === 'number'
						? options.maxLeadsPerBuyerPerHour
						: DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR,
			};
			const before = client.callCount;
			const result = await upsertLead(client, account, lead, settings);
			return {
				json: { leadId: lead.leadId, ...result, pipedriveCalls: client.callCount - before },
			};
		}),
	];
}
