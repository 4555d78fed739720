/**
 * Starts one execution per message of the checkout queue, one at a time, and acknowledges a message only
 * after its execution succeeded. n8n's own RabbitMQ Trigger was measured first (see the README): it keeps
 * messages across a kill in its "execution finishes successfully" mode, but a body that is not JSON is
 * never settled and wedges the queue, failures are requeued at once with no backoff, and it cannot declare
 * a quorum queue with a dead-letter exchange. This trigger uses lib/amqp/consumer: retries with backoff
 * in queue order, dead-letters after the attempts (or at once for a poison message), and reconnects.
 */
import {
	NodeConnectionTypes,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { readTopology, topologyFields } from '../shared/topology';
import { AMQP_CREDENTIAL, amqpSettingsFromCredential } from '../shared/transport/amqp';
import { startPartitionConsumers } from './helpers/partitionConsumers';
import { readHandlingSettings } from './helpers/settings';
import { startTestRun } from './helpers/testRun';

/** The queue is always shown here (the relay shows it only when declaring). */
const queueFields: INodeProperties[] = [
	{
		...topologyFields.find((f) => f.name === 'queue')!,
		displayOptions: undefined,
		description: 'The quorum queue the archive sweep relays to',
	},
	...topologyFields.filter((f) => f.name !== 'queue'),
];

export class CheckoutQueueTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Checkout Queue Trigger',
		name: 'checkoutQueueTrigger',
		icon: { light: 'file:checkoutQueueTrigger.svg', dark: 'file:checkoutQueueTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["queue"] }}',
		description:
			'One execution per checkout event from RabbitMQ, in order; acknowledged only after the execution succeeds',
		defaults: { name: 'Checkout Queue Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'checkoutRabbitMqApi', required: true }],
		properties: [
			{
				displayName:
					'Publish the workflow to process messages. A test run in the editor shows the next message and returns it to the queue, where it counts as one delivery towards the dead-letter limit.',
				name: 'testRunNotice',
				type: 'notice',
				default: '',
			},
			...queueFields,
			{
				displayName: 'Attempts per Message',
				name: 'maxAttempts',
				type: 'number',
				default: 5,
				typeOptions: { minValue: 1 },
				description:
					"Failed executions of one message before it goes to the dead-letter queue (counted by the trigger, whatever the RabbitMQ version counts); a message that kept n8n crashing is dead-lettered by the queue's delivery limit",
			},
			{
				displayName: 'Execution Timeout (Seconds)',
				name: 'executionTimeoutSeconds',
				type: 'number',
				default: 600,
				typeOptions: { minValue: 1 },
				description:
					"An execution that has not finished after this long counts as failed and its message is retried (not before the execution ended, or this long again). At least the workflow's own timeout plus 30 s, when one is set.",
			},
			{
				displayName: 'First Retry After (Seconds)',
				name: 'retryDelaySeconds',
				type: 'number',
				default: 5,
				typeOptions: { minValue: 0 },
				description:
					'Doubles on each retry, up to 5 minutes. The later events of its lead wait behind it, so they do not overtake it; other leads go on meanwhile.',
			},
			{
				displayName: 'Pause Probe Every (Seconds)',
				name: 'pauseProbeSeconds',
				type: 'number',
				default: 60,
				typeOptions: { minValue: 1 },
				description:
					"When an execution fails for a reason retrying cannot heal soon (Pipedrive refuses the credentials, blocks the integration, the daily budget is spent, a gateway is down), the queue pauses instead of sending message after message to the dead-letter queue: this often, a probe execution without any message data asks the failed service with one call (the pack's nodes answer it), and the held message runs again once the service answers",
			},
		],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const settings = amqpSettingsFromCredential(await this.getCredentials(AMQP_CREDENTIAL));
		const topology = readTopology(
			(name, fallback) => this.getNodeParameter(name, fallback) as typeof fallback,
		);
		const handling = readHandlingSettings(this);
		const node = this.getNode();
		// A test run in the editor shows the next message and puts it back (helpers/testRun.ts).
		if (this.getMode() === 'manual') return await startTestRun(this, settings, topology, node);
		return await startPartitionConsumers(this, settings, topology, handling, node);
	}
}
