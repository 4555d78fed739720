import {
	NodeConnectionTypes,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import * as archive from './actions/archive';
import { router } from './actions/router';
import { checkoutRabbitMqApiTest, checkoutS3ApiTest } from '../shared/credentialTests';

export class WebhookArchive implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Webhook Archive',
		name: 'webhookArchive',
		icon: { light: 'file:webhookArchive.svg', dark: 'file:webhookArchive.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Durable S3 inbox for leads and payment webhooks, relayed to RabbitMQ in order',
		defaults: { name: 'Webhook Archive' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'checkoutS3Api',
				required: true,
				testedBy: 'checkoutS3ApiTest',
				displayOptions: { hide: { operation: ['redrive'] } },
			},
			{
				name: 'checkoutRabbitMqApi',
				required: true,
				testedBy: 'checkoutRabbitMqApiTest',
				displayOptions: { show: { operation: ['relay', 'replay', 'redrive'] } },
			},
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				default: 'archive',
				options: [{ name: 'Archive', value: 'archive' }],
			},
			{
				displayName: 'Key Prefix',
				name: 'prefix',
				type: 'string',
				default: 'checkout',
				description: 'Folder in the bucket the archive lives under; use one per pipeline',
			},
			...archive.description,
		],
	};

	methods = {
		credentialTest: { checkoutS3ApiTest, checkoutRabbitMqApiTest },
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
