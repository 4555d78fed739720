/**
 * Publishing with publisher confirms: each publish returns a promise that settles when the broker has
 * taken responsibility for the message (ack) or refused it (nack), or rejects when the channel or
 * connection goes away before that. Publishes are pipelined; `drain` is honoured.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';

export interface OutgoingMessage {
	content: Buffer;
	messageId: string;
	contentType: string;
	headers?: Record<string, unknown>;
	timestamp?: number;
}

export class ConfirmPublisher {
	private outstanding = new Set<(error: Error) => void>();
	private drainWaiters = new Set<() => void>();
	private failure: Error | undefined;
	/** Message ids the broker returned as unroutable; RabbitMQ sends basic.return before the ack. */
	private returned = new Set<string>();

	private constructor(private readonly channel: ConfirmChannel) {
		const fail = (error: Error) => {
			this.failure ??= error;
			for (const reject of this.outstanding) reject(this.failure);
			this.outstanding.clear();
			for (const wake of this.drainWaiters) wake();
			this.drainWaiters.clear();
		};
		channel.on('error', (error: Error) => fail(error));
		channel.on('close', () => fail(new Error('RabbitMQ channel closed before confirming')));
		channel.on('return', (msg: { properties: { messageId?: string } }) => {
			if (msg.properties.messageId) this.returned.add(msg.properties.messageId);
		});
	}

	static async open(connection: ChannelModel): Promise<ConfirmPublisher> {
		return new ConfirmPublisher(await connection.createConfirmChannel());
	}

	/**
	 * Sends one message (waiting for `drain` when the socket buffer is full) and hands back a promise of
	 * its confirm, so that callers can pipeline many messages in order and await the confirms later. A
	 * message that no queue would receive (`mandatory`) counts as refused, never as delivered.
	 */
	async publish(
		exchange: string,
		routingKey: string,
		message: OutgoingMessage,
	): Promise<{ confirmed: Promise<void> }> {
		if (this.failure) throw this.failure;
		const options: Options.Publish = {
			persistent: true,
			messageId: message.messageId,
			contentType: message.contentType,
			headers: message.headers,
			timestamp: message.timestamp !== undefined ? Math.floor(message.timestamp / 1000) : undefined,
			mandatory: true,
		};
		let writable = true;
		const confirmed = new Promise<void>((resolve, reject) => {
			const settle = (error: Error) => reject(error);
			this.outstanding.add(settle);
			writable = this.channel.publish(exchange, routingKey, message.content, options, (err) => {
				this.outstanding.delete(settle);
				if (err) reject(err instanceof Error ? err : new Error(`RabbitMQ refused message ${message.messageId}`));
				else if (this.returned.delete(message.messageId))
					reject(new Error(`No queue is bound to exchange "${exchange}" with routing key "${routingKey}": message ${message.messageId} was returned`));
				else resolve();
			});
		});
		// Rejections are read by the caller later; keep Node from reporting them as unhandled meanwhile.
		confirmed.catch(() => undefined);
		if (!writable && !this.failure) {
			// Wait for the socket to drain, or for the channel to fail (then `confirmed` rejects).
			await new Promise<void>((resolve) => {
				const wake = () => {
					this.drainWaiters.delete(wake);
					resolve();
				};
				this.drainWaiters.add(wake);
				this.channel.once('drain', wake);
			});
		}
		return { confirmed };
	}

	async close(): Promise<void> {
		await this.channel.close().catch(() => undefined);
	}
}
