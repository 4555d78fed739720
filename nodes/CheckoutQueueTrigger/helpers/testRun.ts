/**
 * A test run in the editor shows the next message and puts it back: it must not consume the production
 * queue's events.
 */
import type { Channel, ChannelModel, ConsumeMessage, Replies } from 'amqplib';
import {
	NodeOperationError,
	type INode,
	type ITriggerFunctions,
	type ITriggerResponse,
} from 'n8n-workflow';

import { connectAmqp, type AmqpSettings } from '../../../lib/amqp/connection';
import { partitionQueues } from '../../../lib/amqp/partitions';
import { declareTopology } from '../../../lib/amqp/topology';
import type { readTopology } from '../../shared/topology';
import { testRunItemOf } from './items';

export async function startTestRun(
	ctx: ITriggerFunctions,
	settings: AmqpSettings,
	{ topology, declare, partitions }: ReturnType<typeof readTopology>,
	node: INode,
): Promise<ITriggerResponse> {
	const connection = await connectAmqp(settings);
	const channel = await openTestRunChannel(
		connection,
		declare ? async () => await declareTopology(connection, topology, partitions) : undefined,
	);
	const manualTriggerFunction = async () =>
		await showNextMessage(
			ctx,
			node,
			channel,
			partitionQueues(topology, partitions).map(({ queue }) => queue),
		);
	return {
		manualTriggerFunction,
		closeFunction: async () => await connection.close().catch(() => undefined),
	};
}

/** The channel a test run looks at the queues on; the connection is closed when it cannot be opened. */
async function openTestRunChannel(
	connection: ChannelModel,
	declare: (() => Promise<void>) | undefined,
): Promise<Channel> {
	try {
		if (declare) await declare();
		const channel = await connection.createChannel();
		await channel.prefetch(1);
		return channel;
	} catch (error) {
		await connection.close().catch(() => undefined);
		throw error;
	}
}

/**
 * The first message of any partition is shown and every message seen goes back to its queue, once: the
 * consumers are cancelled at the first message, so the broker does not redeliver the heads in a loop
 * (each redelivery counts towards the queue's delivery limit).
 */
async function showNextMessage(
	ctx: ITriggerFunctions,
	node: INode,
	channel: Channel,
	queues: string[],
): Promise<void> {
	await new Promise<void>((resolve, reject) => {
		let shown = false;
		const tags: string[] = [];
		const stopConsuming = async () => {
			for (const tag of tags.splice(0)) await channel.cancel(tag).catch(() => undefined);
		};
		const onMessage = (queue: string, message: ConsumeMessage | null): void => {
			if (!message) return reject(new NodeOperationError(node, `The queue "${queue}" went away`));
			if (shown) return channel.nack(message, false, true);
			shown = true;
			void stopConsuming().then(() => channel.nack(message, false, true));
			ctx.emit([[testRunItemOf(message)]]);
			resolve();
		};
		// A consumer registered after the message was shown is cancelled at once.
		const onConsuming = ({ consumerTag }: Replies.Consume): void => {
			if (shown) void channel.cancel(consumerTag).catch(() => undefined);
			else tags.push(consumerTag);
		};
		for (const queue of queues)
			channel
				.consume(queue, (message) => onMessage(queue, message))
				.then(onConsuming)
				.catch(reject);
	});
}
