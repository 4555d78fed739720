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
	NodeOperationError,
	type IDataObject,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { connectAmqp } from '../../lib/amqp/connection';
import {
	exponentialBackoff,
	parseBody,
	runConsumer,
	type HandlerOutcome,
	type QueueMessage,
} from '../../lib/amqp/consumer';
import { partitionQueues } from '../../lib/amqp/partitions';
import { partitionKeyOf } from '../../lib/checkout/message';
import { declareTopology } from '../../lib/amqp/topology';
import { redactPersonalData } from '../../lib/util/redact';
import { readTopology, topologyFields } from '../shared/topology';
import type { Failure } from '../../lib/util/failure';
import { probeItem, probeOutcome } from '../shared/probe';
import { outcomeOfRun } from './outcome';
import { AMQP_CREDENTIAL, amqpSettingsFromCredential } from '../shared/transport/amqp';

/**
 * Messages each partition's consumer holds at once: how far past a lead that waits for its retry the
 * other leads' messages still flow (one execution at a time still).
 */
const MESSAGES_HELD = 32;

/** The queue is always shown here (the relay shows it only when declaring). */
const queueFields: INodeProperties[] = [
	{
		...topologyFields.find((f) => f.name === 'queue')!,
		displayOptions: undefined,
		description: 'The quorum queue the archive sweep relays to',
	},
	...topologyFields.filter((f) => f.name !== 'queue'),
];

function itemOf(message: QueueMessage): INodeExecutionData {
	const header = (name: string) =>
		typeof message.headers[name] === 'string' ? (message.headers[name] as string) : undefined;
	return {
		json: {
			...(message.body as IDataObject),
			queueMessage: {
				messageId: message.messageId ?? null,
				deliveryCount: message.deliveryCount,
				redelivered: message.redelivered || message.deliveryCount > 0,
				// Moved back from the dead-letter queue, or replayed from the archive: it may come after events
				// of its lead, so the processor looks its deal up by lead id ("Deal Lookup: Always").
				redriven: header('x-redriven-at') !== undefined,
				replayed: header('x-replayed-at') !== undefined,
				source: header('x-source') ?? null,
				archiveKey: header('x-archive-key') ?? null,
				receivedAt: header('x-received-at') ?? null,
			},
		},
	};
}

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
		const { topology, declare, partitions } = readTopology(
			(name, fallback) => this.getNodeParameter(name, fallback) as typeof fallback,
		);
		const maxAttempts = Math.max(1, Number(this.getNodeParameter('maxAttempts', 5)));
		const retryDelayMs = Math.max(0, Number(this.getNodeParameter('retryDelaySeconds', 5))) * 1000;
		// n8n stops an execution at the workflow's own timeout (Settings → Timeout Workflow); the trigger's
		// guard waits longer than that, so an execution it gives up on has been stopped by n8n and a retry of
		// its message never runs beside it.
		const workflowTimeoutSeconds = Number(this.getWorkflowSettings?.()?.executionTimeout ?? -1);
		const handlerTimeoutMs =
			Math.max(
				Number(this.getNodeParameter('executionTimeoutSeconds', 600)),
				workflowTimeoutSeconds > 0 ? workflowTimeoutSeconds + 30 : 1,
			) * 1000;
		const node = this.getNode();

		if (this.getMode() === 'manual') {
			// A test run in the editor shows the next message and puts it back: it must not consume the
			// production queue's events.
			const connection = await connectAmqp(settings);
			let channel: Awaited<ReturnType<typeof connection.createChannel>>;
			try {
				if (declare) await declareTopology(connection, topology, partitions);
				channel = await connection.createChannel();
				await channel.prefetch(1);
			} catch (error) {
				await connection.close().catch(() => undefined);
				throw error;
			}
			// The first message of any partition is shown and every message seen goes back to its queue,
			// once: the consumers are cancelled at the first message, so the broker does not redeliver the
			// heads in a loop (each redelivery counts towards the queue's delivery limit).
			const manualTriggerFunction = async () =>
				await new Promise<void>((resolve, reject) => {
					let shown = false;
					const tags: string[] = [];
					const stopConsuming = async () => {
						for (const tag of tags.splice(0)) await channel.cancel(tag).catch(() => undefined);
					};
					for (const { queue } of partitionQueues(topology, partitions)) {
						channel
							.consume(queue, (message) => {
								if (!message)
									return reject(new NodeOperationError(node, `The queue "${queue}" went away`));
								if (shown) {
									channel.nack(message, false, true);
									return;
								}
								shown = true;
								void stopConsuming().then(() => channel.nack(message, false, true));
								const body = parseBody(message.content);
								this.emit([
									[
										typeof body === 'string'
											? {
													json: {
														error: body,
														content: message.content.toString('utf8').slice(0, 2000),
													},
												}
											: itemOf({
													body,
													messageId: message.properties.messageId,
													deliveryCount: 0,
													redelivered: message.fields.redelivered,
													headers: message.properties.headers ?? {},
												}),
									],
								]);
								resolve();
							})
							.then(({ consumerTag }) => {
								if (shown) void channel.cancel(consumerTag).catch(() => undefined);
								else tags.push(consumerTag);
							})
							.catch(reject);
					}
				});
			return {
				manualTriggerFunction,
				closeFunction: async () => await connection.close().catch(() => undefined),
			};
		}

		// One consumer per partition, each with one message in flight: a lead's events in order, different
		// leads' at the same time (lib/amqp/partitions.ts).
		const handle = async (message: QueueMessage): Promise<HandlerOutcome> => {
			const done = this.helpers.createDeferredPromise<IRun>();
			this.emit([[itemOf(message)]], undefined, done);
			return outcomeOfRun(await done.promise);
		};
		// While paused: an execution of a probe item (no message data) asks the failed service (probe.ts).
		const probe = async (message: QueueMessage, failure: Failure): Promise<HandlerOutcome> => {
			const done = this.helpers.createDeferredPromise<IRun>();
			this.emit([[{ json: probeItem(failure, message.messageId) }]], undefined, done);
			return probeOutcome(await done.promise, failure);
		};
		const consumers = partitionQueues(topology, partitions).map(({ queue }) =>
			runConsumer(
				async () => await connectAmqp(settings),
				{
					queue,
					deadLetterQueue: topology.deadLetterQueue,
					// A lead's messages in their order; a lead waiting for a retry holds no other lead.
					keyOf: partitionKeyOf,
					window: MESSAGES_HELD,
					probe,
					maxAttempts,
					retryDelayMs: exponentialBackoff(retryDelayMs, 300_000),
					handlerTimeoutMs,
					pauseProbeMs: Math.max(1, Number(this.getNodeParameter('pauseProbeSeconds', 60))) * 1000,
					prepare: declare
						? async (connection) => await declareTopology(connection, topology, partitions)
						: undefined,
					log: (level, message) =>
						this.logger[level](
							`[Checkout Queue Trigger${partitions > 1 ? ` ${queue}` : ''}] ${message}`,
						),
					// Dead-lettered messages are also shown as failed executions, where people look.
					onDeadLetter: ({ messageId, reason }) => {
						if (typeof this.saveFailedExecution === 'function')
							this.saveFailedExecution(
								new NodeOperationError(
									node,
									redactPersonalData(
										`Message ${messageId ?? '(without id)'} went to the dead-letter queue: ${reason}`,
									),
								),
							);
					},
				},
				handle,
			),
		);
		// A broker that is down at activation is retried in the background rather than failing activation
		// (n8n gives up on a trigger whose activation failed a few times).
		await Promise.race([
			Promise.all(consumers.map(async (c) => await c.ready)).catch(() => undefined),
			new Promise((resolve) => setTimeout(resolve, 10_000)),
		]);
		return {
			closeFunction: async () =>
				void (await Promise.all(consumers.map(async (c) => await c.stop()))),
		};
	}
}
