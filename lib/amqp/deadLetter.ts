/**
 * Dead-letters a message the consumer gives up on, with why: a copy goes to the dead-letter queue with
 * the header `x-dead-letter-reason`, on a confirm channel, and the message is acked only once the broker
 * confirmed the copy. Without a dead-letter queue named (or when that publish fails) the message is
 * rejected and the queue's own dead-letter exchange takes it, with the broker's death record but no
 * reason. Dead-lettering by our own ack or reject, never by the queue's delivery limit, also keeps
 * RabbitMQ 3.10's quorum queues from granting an extra credit after a delivery-limit dead-letter.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

import { redactPersonalData } from '../util/redact';

/** Headers the consumer adds to a message it dead-letters itself (removed again by a re-drive). */
export const DEAD_LETTER_REASON_HEADER = 'x-dead-letter-reason';
export const DEAD_LETTERED_AT_HEADER = 'x-dead-lettered-at';

interface ConfirmEntry {
	connection: ChannelModel;
	channel: Promise<ConfirmChannel>;
	/** Set when the broker hands a copy back unroutable (the queue is missing): it still confirms it. */
	returned: boolean;
}

export class DeadLetterer {
	private entry?: ConfirmEntry;
	/** One copy at a time: the `returned` flag belongs to the copy in flight. */
	private turn: Promise<unknown> = Promise.resolve();

	constructor(
		private readonly deadLetterQueue: string | undefined,
		private readonly log: (level: 'warn', message: string) => void,
	) {}

	private confirmChannelOf(connection: ChannelModel): ConfirmEntry {
		if (this.entry?.connection !== connection) {
			const entry: ConfirmEntry = {
				connection,
				channel: connection.createConfirmChannel(),
				returned: false,
			};
			entry.channel
				.then((c) => {
					c.on('error', (error: Error) =>
						this.log('warn', `RabbitMQ dead-letter channel error: ${error.message}`),
					);
					c.on('close', () => {
						if (this.entry === entry) this.entry = undefined;
					});
					c.on('return', () => (entry.returned = true));
				})
				.catch(() => {
					if (this.entry === entry) this.entry = undefined;
				});
			this.entry = entry;
		}
		return this.entry;
	}

	/** Dead-letters `message` (delivered on `channel` of `connection`) with `reason`. */
	async send(
		connection: ChannelModel | undefined,
		channel: Channel,
		message: ConsumeMessage,
		reason: string,
	): Promise<void> {
		const run = this.turn.then(
			async () => await this.sendNow(connection, channel, message, reason),
		);
		this.turn = run.catch(() => undefined);
		await run;
	}

	private async sendNow(
		connection: ChannelModel | undefined,
		channel: Channel,
		message: ConsumeMessage,
		reason: string,
	): Promise<void> {
		const queue = this.deadLetterQueue;
		if (queue && connection) {
			try {
				const entry = this.confirmChannelOf(connection);
				const confirm = await entry.channel;
				const headers = {
					...(message.properties.headers ?? {}),
					[DEAD_LETTER_REASON_HEADER]: redactPersonalData(reason).slice(0, 2000),
					[DEAD_LETTERED_AT_HEADER]: new Date().toISOString(),
				};
				entry.returned = false;
				await new Promise<void>((resolve, reject) => {
					const timer = setTimeout(() => reject(new Error('no confirm within 30 s')), 30_000);
					timer.unref();
					confirm.publish(
						'',
						queue,
						message.content,
						{ ...message.properties, headers, persistent: true, mandatory: true },
						(error) => {
							clearTimeout(timer);
							if (error) reject(error instanceof Error ? error : new Error(String(error)));
							else if (entry.returned)
								reject(new Error(`the dead-letter queue "${queue}" does not exist`));
							else resolve();
						},
					);
				});
				// Confirmed: the copy is safe. If this ack is lost the message comes back and is handled
				// again (at least once); the dead-letter queue may then hold it twice, never zero times.
				channel.ack(message);
				return;
			} catch (error) {
				this.log(
					'warn',
					`Could not put the reason on the dead-lettered message (${(error as Error).message}); rejecting it to the queue's dead-letter exchange`,
				);
			}
		}
		channel.nack(message, false, false);
	}
}
