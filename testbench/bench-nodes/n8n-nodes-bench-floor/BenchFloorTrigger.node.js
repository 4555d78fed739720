'use strict';
/**
 * Benchmark only (scripts/bench.ts installs it next to the pack; it is not part of the pack): n8n's floor
 * for a production webhook. Like the Payment Webhook Trigger it is a version 2 trigger with a fixed path,
 * answers through the response object and starts no execution, but it reads nothing and checks nothing,
 * so the gap between the two is what verify + archive cost.
 * Plain JavaScript with no imports, so that it loads without a build or n8n-workflow.
 */
class BenchFloorTrigger {
	constructor() {
		this.description = {
			displayName: 'Bench Floor Trigger',
			name: 'benchFloorTrigger',
			group: ['trigger'],
			version: 2,
			description: 'Answers 200 from the webhook handler and does nothing else',
			defaults: { name: 'Bench Floor Trigger' },
			inputs: [],
			outputs: ['main'],
			webhooks: [
				{
					name: 'default',
					httpMethod: 'POST',
					responseMode: 'onReceived',
					responseData: '',
					isFullPath: true,
					path: 'bench/floor',
				},
			],
			properties: [],
		};
		this.webhookMethods = {
			default: {
				async checkExists() {
					return true;
				},
				async create() {
					return true;
				},
				async delete() {
					return true;
				},
			},
		};
	}

	async webhook() {
		this.getResponseObject().status(200).json({ received: true });
		return { noWebhookResponse: true };
	}
}

module.exports = { BenchFloorTrigger };
