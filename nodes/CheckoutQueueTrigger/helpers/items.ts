/** The items the Checkout Queue Trigger emits for a queue message. */
import type { ConsumeMessage } from 'amqplib';
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { parseBody, type QueueMessage } from '../../../lib/amqp/consumer';

/** The item of one message: its body, and what the queue says of it under `queueMessage`. */
export function itemOf(message: QueueMessage): INodeExecutionData {
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

/** The item a test run in the editor shows: the message's item, or why its body is poison. */
export function testRunItemOf(message: ConsumeMessage): INodeExecutionData {
	const body = parseBody(message.content);
	return typeof body === 'string'
		? { json: { error: body, content: message.content.toString('utf8').slice(0, 2000) } }
		: itemOf({
				body,
				messageId: message.properties.messageId,
				deliveryCount: 0,
				redelivered: message.fields.redelivered,
				headers: message.properties.headers ?? {},
			});
}
