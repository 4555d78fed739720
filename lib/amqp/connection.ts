/**
 * AMQP connection settings shared by every node and tool of the pack.
 */
import { connect, type ChannelModel } from 'amqplib';

export interface AmqpSettings {
	/** A full amqp:// or amqps:// URL; when set, the other fields are ignored. */
	url?: string;
	host?: string;
	port?: number;
	vhost?: string;
	username?: string;
	password?: string;
	tls?: boolean;
	heartbeatSeconds?: number;
}

export function amqpUrl(settings: AmqpSettings): string {
	if (settings.url && settings.url.trim() !== '') return settings.url.trim();
	const protocol = settings.tls ? 'amqps' : 'amqp';
	const port = settings.port ?? (settings.tls ? 5671 : 5672);
	const auth = `${encodeURIComponent(settings.username ?? 'guest')}:${encodeURIComponent(settings.password ?? 'guest')}`;
	const vhost = encodeURIComponent(settings.vhost ?? '/');
	const heartbeat = settings.heartbeatSeconds ?? 30;
	return `${protocol}://${auth}@${settings.host ?? '127.0.0.1'}:${port}/${vhost}?heartbeat=${heartbeat}`;
}

/** The URL with its password replaced, for errors and logs. */
export function redactedAmqpUrl(url: string): string {
	return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export async function connectAmqp(settings: AmqpSettings): Promise<ChannelModel> {
	const url = amqpUrl(settings);
	try {
		return await connect(url);
	} catch (error) {
		const reason = error instanceof Error ? error.message : String(error);
		throw new Error(`Could not connect to RabbitMQ at ${redactedAmqpUrl(url)}: ${reason}`);
	}
}
