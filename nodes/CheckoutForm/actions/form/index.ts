import type { INodeProperties } from 'n8n-workflow';

import * as openLink from './openLink.operation';
import * as parse from './parse.operation';

export { openLink, parse };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'parse',
		options: [
			{
				name: 'Parse & Validate',
				value: 'parse',
				action: 'Parse and validate a checkout form',
				description:
					'A form post becomes a lead priced from the catalog, or a 4xx naming the bad fields',
			},
			{
				name: 'Open Checkout Link',
				value: 'openLink',
				action: 'Open the lead behind a pay link',
				description:
					'A pay or retry link (signed, or an Elementor checkout token) → the stored lead, or one neutral answer',
			},
		],
	},
	...parse.description,
	...openLink.description,
];
