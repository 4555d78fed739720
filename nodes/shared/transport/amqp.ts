/** The Checkout RabbitMQ credential → AMQP connection settings, for the relay, the replay, re-drive and the queue trigger. */
import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import type { AmqpSettings } from '../../../lib/amqp/connection';

export const AMQP_CREDENTIAL = 'checkoutRabbitMqApi';

export function amqpSettingsFromCredential(data: ICredentialDataDecryptedObject): AmqpSettings {
	if (data.connectWith === 'url') return { url: String(data.url ?? '') };
	return {
		host: String(data.host ?? 'localhost'),
		port: Number(data.port ?? 5672),
		vhost: String(data.vhost ?? '/'),
		username: String(data.username ?? 'guest'),
		password: String(data.password ?? ''),
		tls: data.tls === true,
	};
}

/** The AMQP settings of an executing node's RabbitMQ credential. */
export async function nodeAmqpSettings(ctx: IExecuteFunctions): Promise<AmqpSettings> {
	return amqpSettingsFromCredential(await ctx.getCredentials(AMQP_CREDENTIAL));
}
