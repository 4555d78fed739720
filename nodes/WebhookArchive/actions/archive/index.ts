import type { INodeProperties } from 'n8n-workflow';

import * as closeLinks from './closeLinks.operation';
import * as get from './get.operation';
import * as list from './list.operation';
import * as purge from './purge.operation';
import * as redrive from './redrive.operation';
import * as relay from './relay.operation';
import * as replay from './replay.operation';
import * as store from './store.operation';

export { closeLinks, get, list, purge, redrive, relay, replay, store };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['archive'] } },
		default: 'store',
		options: [
			{
				name: 'Close Links of Paid Checkout',
				value: 'closeLinks',
				action: 'Close the pay links of a paid checkout',
				description: "After a payment is confirmed: its lead's pay links open nothing from now on",
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get an archived object',
				description: 'Read one object with its metadata',
			},
			{
				name: 'List',
				value: 'list',
				action: 'List archived objects',
				description: 'List pending or relayed objects in time order',
			},
			{
				name: 'Purge',
				value: 'purge',
				action: 'Purge old relayed objects',
				description: 'Delete relayed objects older than N days',
			},
			{
				name: 'Re-Drive Dead Letters',
				value: 'redrive',
				action: 'Move dead lettered messages back to the queue',
				description:
					'Move dead-lettered messages (all, or by ID) back to the main queue once the cause is fixed',
			},
			{
				name: 'Relay Pending to RabbitMQ',
				value: 'relay',
				action: 'Relay pending objects to rabbit mq',
				description:
					'Publish pending objects in order with publisher confirms, then mark them relayed',
			},
			{
				name: 'Replay',
				value: 'replay',
				action: 'Replay a time range to rabbit mq',
				description: 'Publish relayed objects of a time range again',
			},
			{
				name: 'Store',
				value: 'store',
				action: 'Store an event',
				description: 'Store a lead or webhook event durably under a time-sortable key',
			},
		],
	},
	...store.description,
	...relay.description,
	...list.description,
	...get.description,
	...replay.description,
	...purge.description,
	...redrive.description,
	...closeLinks.description,
];
