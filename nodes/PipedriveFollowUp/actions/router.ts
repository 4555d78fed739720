import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import * as followUp from './followUp';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	switch (operation) {
		case 'setup':
			return [await followUp.setup.execute.call(this)];
		case 'upsertLead':
			return [await followUp.upsertLead.execute.call(this)];
		case 'applyCheckoutEvent':
			return [await followUp.applyCheckoutEvent.execute.call(this)];
		case 'runFollowUpRules':
			return [await followUp.runFollowUpRules.execute.call(this)];
		default:
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`);
	}
}
