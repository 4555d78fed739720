import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The RabbitMQ broker the archive relays to. Tested by the Webhook Archive node, which opens and closes
 * a connection (AMQP is not HTTP, so a declarative credential test cannot reach it).
 */
export class CheckoutRabbitMqApi implements ICredentialType {
	name = 'checkoutRabbitMqApi';

	displayName = 'Checkout RabbitMQ API';

	icon: Icon = { light: 'file:icons/rabbitmq.svg', dark: 'file:icons/rabbitmq.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/archive.md#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Connect With',
			name: 'connectWith',
			type: 'options',
			default: 'fields',
			options: [
				{ name: 'Host and Port', value: 'fields' },
				{ name: 'AMQP URL', value: 'url' },
			],
		},
		{
			displayName: 'AMQP URL',
			name: 'url',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'amqps://user:password@host:5671/vhost',
			displayOptions: { show: { connectWith: ['url'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { connectWith: ['fields'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5672,
			displayOptions: { show: { connectWith: ['fields'] } },
		},
		{
			displayName: 'Virtual Host',
			name: 'vhost',
			type: 'string',
			default: '/',
			displayOptions: { show: { connectWith: ['fields'] } },
		},
		{
			displayName: 'User',
			name: 'username',
			type: 'string',
			default: 'guest',
			displayOptions: { show: { connectWith: ['fields'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { connectWith: ['fields'] } },
		},
		{
			displayName: 'TLS',
			name: 'tls',
			type: 'boolean',
			default: false,
			description: 'Whether to connect with amqps (TLS)',
			displayOptions: { show: { connectWith: ['fields'] } },
		},
	];
}
