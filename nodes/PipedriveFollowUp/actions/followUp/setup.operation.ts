import {
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { setupFields } from '../../../../lib/pipedrive/operations';
import { runOnce } from '../../../shared/operation';
import { pipedriveClientFor } from '../../transport';

const properties: INodeProperties[] = [
	{
		displayName:
			'Creates the deal fields this pack keeps the checkout state in (status, lead ID, payment link, gateway, last event time, follow-ups applied, events applied, product, earlier lead ID, UTM source) where they are missing, and outputs their keys. Running it again changes nothing. The other operations do the same on first use.',
		name: 'setupNotice',
		type: 'notice',
		default: '',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['setup'] } }, properties);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return [
		await runOnce(this, async () => {
			const { client, account, shared } = await pipedriveClientFor(this);
			const result = await setupFields(client, account, shared);
			return [{ json: { ...result, pipedriveCalls: client.callCount } }];
		}),
	];
}
