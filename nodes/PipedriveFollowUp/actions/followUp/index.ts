import type { INodeProperties } from 'n8n-workflow';

import * as applyCheckoutEvent from './applyCheckoutEvent.operation';
import * as checkoutReport from './checkoutReport.operation';
import * as runFollowUpRules from './runFollowUpRules.operation';
import * as setup from './setup.operation';
import * as upsertLead from './upsertLead.operation';

export { applyCheckoutEvent, checkoutReport, runFollowUpRules, setup, upsertLead };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'upsertLead',
		options: [
			{
				name: 'Apply Checkout Event',
				value: 'applyCheckoutEvent',
				action: 'Apply a checkout event to its deal',
				description:
					"Move the deal's checkout state by a payment event: won on payment, never backwards",
			},
			{
				name: 'Checkout Report',
				value: 'checkoutReport',
				action: 'Report the recovered checkouts',
				description:
					'Leads, paid, recovered by follow-ups, revenue recovered and time to pay for a period, by source and product',
			},
			{
				name: 'Run Follow-Up Rules',
				value: 'runFollowUpRules',
				action: 'Run the follow up rules',
				description:
					'Create follow-up activities for abandoned, failed, expired or pending checkouts',
			},
			{
				name: 'Setup',
				value: 'setup',
				action: 'Set up the deal fields',
				description: 'Create the deal fields the pack uses, once',
			},
			{
				name: 'Upsert Lead',
				value: 'upsertLead',
				action: 'Create or update a lead',
				description: 'Person by e-mail and one open deal per lead, with a note of its source',
			},
		],
	},
	...setup.description,
	...upsertLead.description,
	...applyCheckoutEvent.description,
	...runFollowUpRules.description,
	...checkoutReport.description,
];
