import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { sharedPrefixProperty } from '../shared/sharedState';
import * as followUp from './actions/followUp';
import { router } from './actions/router';
import { loadOptions } from './methods';

export class PipedriveFollowUp implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Pipedrive Follow-Up',
		name: 'pipedriveFollowUp',
		icon: { light: 'file:pipedriveFollowUp.svg', dark: 'file:pipedriveFollowUp.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description:
			'Checkout leads and payment events into Pipedrive deals, and follow-up activities by rules',
		defaults: { name: 'Pipedrive Follow-Up' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'checkoutPipedriveApi',
				required: true,
				displayOptions: { show: { authentication: ['apiToken'] } },
			},
			{
				name: 'checkoutPipedriveOAuth2Api',
				required: true,
				displayOptions: { show: { authentication: ['oAuth2'] } },
			},
			// Optional: with it, the rules' {{paymentLink}} is a pay link renewed when the rule fires, and
			// the report checks and makes signed report links.
			{
				name: 'checkoutLinksApi',
				required: false,
				displayOptions: { show: { operation: ['runFollowUpRules', 'checkoutReport'] } },
			},
			// Optional: with it, the state every n8n process must share lives in the archive's bucket
			// (nodes/shared/sharedState.ts); without it, in this process only.
			{
				name: 'checkoutS3Api',
				required: false,
				displayOptions: {
					show: { operation: ['upsertLead', 'applyCheckoutEvent', 'runFollowUpRules', 'setup'] },
				},
			},
		],
		properties: [
			{
				displayName: 'Authentication',
				name: 'authentication',
				type: 'options',
				options: [
					{ name: 'API Token', value: 'apiToken' },
					{ name: 'OAuth2', value: 'oAuth2' },
				],
				default: 'apiToken',
			},
			{
				...sharedPrefixProperty,
				displayOptions: {
					show: { operation: ['upsertLead', 'applyCheckoutEvent', 'runFollowUpRules', 'setup'] },
				},
			},
			...followUp.description,
		],
	};

	methods = { loadOptions };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
