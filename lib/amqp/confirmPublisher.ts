/**
 * Publishing with publisher confirms: each publish returns a promise that settles when the broker has
 * taken responsibility for the message (ack) or refused it (nack), or rejects when the channel or
 * connection goes away before that. Publishes are pipelined; `drain` is honoured.
 *
 * Never a hang: a broker under a memory or disk alarm blocks publishing connections (and says so with
 * connection.blocked), and a broker or network that swallows frames confirms nothing. Both end the wait
 * with an error within `confirmTimeoutMs`, so a relay run stops and its objects stay pending.
 */
import type { ChannelModel, ConfirmChannel, Options } from 'amqplib';

export interface OutgoingMessage {
	content: Buffer;
	messageId: string;
	contentType: string;
	headers?: Record<string, unknown>;
	timestamp?: number;
}

/** The broker refused this one message (a nack) while the channel stayed up: about the message, not the broker. */
export class MessageRefusedError extends Error {
	constructor(readonly messageId: string) {
		super(`RabbitMQ refused message ${messageId}`);
		this.name = 'MessageRefusedError';
	}
}

export class ConfirmPublisher {
	private outstanding = new Set<(error: Error) => void>();
	private drainWaiters = new Set<() => void>();
	private failure: Error | undefined;
	/** Message ids the broker returned as unroutable; RabbitMQ sends basic.return before the ack. */
	private returned = new Set<string>();

	private constructor(
		private readonly channel: ConfirmChannel,
		private readonly confirmTimeoutMs: number,
		connection?: ChannelModel,
	) {
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
		this.failWith = fail;
		connection?.on('blocked', (reason: string) =>
			fail(
				new Error(
					`RabbitMQ blocks publishers (${reason}): a memory or disk alarm; the messages are not confirmed`,
				),
			),
		);
	}

	private readonly failWith: (error: Error) => void;

	static async open(
		connection: ChannelModel,
		options: { confirmTimeoutMs?: number } = {},
	): Promise<ConfirmPublisher> {
		return new ConfirmPublisher(
			await connection.createConfirmChannel(),
			options.confirmTimeoutMs ?? 30_000,
			connection,
		);
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
			// No confirm in time: the whole channel counts as failed (later confirms cannot be trusted to come).
			const timer = setTimeout(
				() =>
					this.failWith(
						new Error(
							`RabbitMQ did not confirm message ${message.messageId} within ${this.confirmTimeoutMs} ms (a memory or disk alarm, or a broken connection)`,
						),
					),
				this.confirmTimeoutMs,
			);
			timer.unref();
			writable = this.channel.publish(exchange, routingKey, message.content, options, (err) => {
				clearTimeout(timer);
				this.outstanding.delete(settle);
				if (err) reject(this.failure ?? new MessageRefusedError(message.messageId));
				else if (this.returned.delete(message.messageId))
					reject(
						new Error(
							`No queue is bound to exchange "${exchange}" with routing key "${routingKey}": message ${message.messageId} was returned`,
						),
					);
				else resolve();
			});
		});
		// Rejections are read by the caller later; keep Node from reporting them as unhandled meanwhile.
		confirmed.catch(() => undefined);
		if (!writable && !this.failure) {
			// Wait for the socket to drain, or for the channel to fail (then `confirmed` rejects).
			await new Promise<void>((resolve) => {
				const wake = () => {
					clearTimeout(timer);
					this.drainWaiters.delete(wake);
					resolve();
				};
				// A socket that never drains (a blocked connection) fails the publisher instead of waiting forever.
				const timer = setTimeout(
					() =>
						this.failWith(
							new Error(
								`RabbitMQ took no data for ${this.confirmTimeoutMs} ms (publishers blocked?)`,
							),
						),
					this.confirmTimeoutMs,
				);
				timer.unref();
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
