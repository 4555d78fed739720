/**
 * Checkout Form: the buyer's form post (plain HTML, Elementor Pro webhook, JSON or query) → a validated
 * lead priced from the shop's catalog, or an answer naming each bad field; and the pay links that bring
 * a buyer back (Open Checkout Link). The parsing and validation is lib/forms, the links lib/links.
 */
import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import * as form from './actions/form';
import { router } from './actions/router';

export class CheckoutForm implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Checkout Form',
		name: 'checkoutForm',
		icon: { light: 'file:checkoutForm.svg', dark: 'file:checkoutForm.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ $parameter["operation"] === "openLink" ? "Open checkout link" : "Parse & validate a checkout form" }}',
		description:
			'Turns a WordPress / Elementor checkout form post into a validated lead priced from the catalog, or a 4xx that names the bad fields',
		defaults: { name: 'Checkout Form' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter["operation"] === "openLink" ? [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Open" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Unavailable" }] : [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Valid" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Rejected" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Dropped (Bot)" }] }}`,
		credentials: [
			// Parse signs the lead's pay link with it; Open Checkout Link checks links with it.
			{ name: 'checkoutLinksApi', required: true },
			{
				name: 'checkoutS3Api',
				required: true,
				displayOptions: { show: { operation: ['openLink'] } },
			},
		],
		properties: [...form.description],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
