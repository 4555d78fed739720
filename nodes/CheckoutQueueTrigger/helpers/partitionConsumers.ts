/**
 * One consumer per partition, each with one message in flight: a lead's events in order, different
 * leads' at the same time (lib/amqp/partitions.ts). Each message runs as one execution of the workflow.
 */
import {
	NodeOperationError,
	type INode,
	type IRun,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { connectAmqp, type AmqpSettings } from '../../../lib/amqp/connection';
import {
	exponentialBackoff,
	runConsumer,
	type ConsumerOptions,
	type HandlerOutcome,
	type QueueMessage,
} from '../../../lib/amqp/consumer';
import { partitionQueues } from '../../../lib/amqp/partitions';
import { declareTopology } from '../../../lib/amqp/topology';
import { partitionKeyOf } from '../../../lib/checkout/message';
import type { Failure } from '../../../lib/util/failure';
import { redactPersonalData } from '../../../lib/util/redact';
import { probeItem, probeOutcome } from '../../shared/probe';
import type { readTopology } from '../../shared/topology';
import { outcomeOfRun } from '../outcome';
import { itemOf } from './items';
import type { HandlingSettings } from './settings';

/**
 * Messages each partition's consumer holds at once: how far past a lead that waits for its retry the
 * other leads' messages still flow (one execution at a time still).
 */
const MESSAGES_HELD = 32;

/** How long activation waits for the consumers to start. */
const READY_WAIT_MS = 10_000;

export async function startPartitionConsumers(
	ctx: ITriggerFunctions,
	settings: AmqpSettings,
	{ topology, declare, partitions }: ReturnType<typeof readTopology>,
	handling: HandlingSettings,
	node: INode,
): Promise<ITriggerResponse> {
	const handle = executionPerMessage(ctx);
	const probe = probeExecution(ctx);
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
				maxAttempts: handling.maxAttempts,
				retryDelayMs: exponentialBackoff(handling.retryDelayMs, 300_000),
				handlerTimeoutMs: handling.handlerTimeoutMs,
				pauseProbeMs: Math.max(1, Number(ctx.getNodeParameter('pauseProbeSeconds', 60))) * 1000,
				prepare: declare
					? async (connection) => await declareTopology(connection, topology, partitions)
					: undefined,
				log: (level, message) =>
					ctx.logger[level](
						`[Checkout Queue Trigger${partitions > 1 ? ` ${queue}` : ''}] ${message}`,
					),
				onDeadLetter: failedExecutionPerDeadLetter(ctx, node),
			},
			handle,
		),
	);
	// A broker that is down at activation is retried in the background rather than failing activation
	// (n8n gives up on a trigger whose activation failed a few times).
	await Promise.race([
		Promise.all(consumers.map(async (c) => await c.ready)).catch(() => undefined),
		new Promise((resolve) => setTimeout(resolve, READY_WAIT_MS)),
	]);
	return {
		closeFunction: async () => void (await Promise.all(consumers.map(async (c) => await c.stop()))),
	};
}

/** The handler: one execution of the message's item; its outcome settles the message. */
function executionPerMessage(
	ctx: ITriggerFunctions,
): (message: QueueMessage) => Promise<HandlerOutcome> {
	return async (message) => {
		const done = ctx.helpers.createDeferredPromise<IRun>();
		ctx.emit([[itemOf(message)]], undefined, done);
		return outcomeOfRun(await done.promise);
	};
}

/** While paused: an execution of a probe item (no message data) asks the failed service (probe.ts). */
function probeExecution(
	ctx: ITriggerFunctions,
): (message: QueueMessage, failure: Failure) => Promise<HandlerOutcome> {
	return async (message, failure) => {
		const done = ctx.helpers.createDeferredPromise<IRun>();
		ctx.emit([[{ json: probeItem(failure, message.messageId) }]], undefined, done);
		return probeOutcome(await done.promise, failure);
	};
}

/** Dead-lettered messages are also shown as failed executions, where people look. */
function failedExecutionPerDeadLetter(
	ctx: ITriggerFunctions,
	node: INode,
): ConsumerOptions['onDeadLetter'] {
	return ({ messageId, reason }) => {
		if (typeof ctx.saveFailedExecution === 'function')
			ctx.saveFailedExecution(
				new NodeOperationError(
					node,
					redactPersonalData(
						`Message ${messageId ?? '(without id)'} went to the dead-letter queue: ${reason}`,
					),
				),
			);
	};
}
