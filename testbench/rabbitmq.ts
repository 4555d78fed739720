/**
 * The machine's RabbitMQ (scripts/ensure-rabbitmq.sh starts one where none answers). Tests never
 * restart or wipe it: each run declares its own names and deletes them afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connect, type ChannelModel } from 'amqplib';

import { partitionQueues } from '../lib/amqp/partitions';
import { DEFAULT_TOPOLOGY, type Topology } from '../lib/amqp/topology';

/**
 * The broker the tests use: the machine's, or another one named by CR_RABBITMQ_URL (the RabbitMQ 4.x
 * container of testbench/docker/rabbitmq4.sh, for the consumer and relay suites).
 */
export const RABBITMQ_URL = process.env.CR_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const RABBITMQ_PORT = Number(new URL(RABBITMQ_URL).port || 5672);

/** The broker's URL with another port on loopback (a TCP proxy in front of it). */
export function brokerUrlVia(port: number): string {
	const url = new URL(RABBITMQ_URL);
	url.hostname = '127.0.0.1';
	url.port = String(port);
	return url.toString();
}

export function uniqueTopology(label: string): Topology {
	const tag = `cr-test.${label}.${randomBytes(4).toString('hex')}`;
	return {
		...DEFAULT_TOPOLOGY,
		exchange: `${tag}.x`,
		routingKey: 'checkout.event',
		queue: `${tag}.q`,
		deadLetterExchange: `${tag}.dlx`,
		deadLetterQueue: `${tag}.dlq`,
	};
}

export async function connectBroker(url = RABBITMQ_URL): Promise<ChannelModel> {
	const connection = await connect(url);
	// A channel error (a test's own 406, say) is reported on the connection too: never crash the runner.
	connection.on('error', () => undefined);
	return connection;
}

export interface MessageToPublish {
	/** An object is sent as JSON; a string as it is (a poison message, say). */
	body: object | string;
	messageId: string;
	headers?: Record<string, unknown>;
}

/** Publishes persistent messages to a topology's exchange, as the relay does, and waits for the broker's confirms. */
export async function publishConfirmed(
	connection: ChannelModel,
	t: Pick<Topology, 'exchange' | 'routingKey'>,
	messages: MessageToPublish[],
): Promise<void> {
	const channel = await connection.createConfirmChannel();
	for (const m of messages) {
		const content = Buffer.from(typeof m.body === 'string' ? m.body : JSON.stringify(m.body));
		channel.publish(t.exchange, t.routingKey, content, {
			persistent: true,
			contentType: 'application/json',
			messageId: m.messageId,
			headers: m.headers,
		});
	}
	await channel.waitForConfirms();
	await channel.close();
}

export interface Received {
	content: Buffer;
	messageId?: string;
	contentType?: string;
	headers: Record<string, unknown>;
}

/**
 * Consumes up to `max` messages from a queue (acking them), until none arrived for `idleMs`. A consumer,
 * not basic.get: quorum queues with single-active-consumer refuse basic.get.
 */
export async function drainQueue(
	connection: ChannelModel,
	queue: string,
	max: number,
	idleMs = 2000,
): Promise<Received[]> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	const out: Received[] = [];
	let lastArrival = Date.now();
	await channel.prefetch(200);
	const { consumerTag } = await channel.consume(queue, (msg) => {
		if (!msg) return;
		if (out.length >= max) {
			channel.nack(msg, false, true);
			return;
		}
		out.push({
			content: msg.content,
			messageId: msg.properties.messageId,
			contentType: msg.properties.contentType,
			headers: (msg.properties.headers ?? {}) as Record<string, unknown>,
		});
		channel.ack(msg);
		lastArrival = Date.now();
	});
	while (out.length < max && Date.now() - lastArrival < idleMs)
		await new Promise((r) => setTimeout(r, 20));
	await channel.cancel(consumerTag).catch(() => undefined);
	await channel.close().catch(() => undefined);
	return out;
}

/** Deletes a test topology, with the queues of the partition counts it was used with. */
export async function deleteTopology(
	connection: ChannelModel,
	t: Topology,
	partitions: number[] = [1],
): Promise<void> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	const queues = [...new Set(partitions.flatMap((n) => partitionQueues(t, n).map((p) => p.queue)))];
	for (const q of [...queues, t.queue, t.deadLetterQueue])
		await channel.deleteQueue(q).catch(() => undefined);
	for (const x of [t.exchange, t.deadLetterExchange])
		await channel.deleteExchange(x).catch(() => undefined);
	await channel.close().catch(() => undefined);
}
