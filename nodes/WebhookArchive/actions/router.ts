import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { archiveFor } from '../transport';
import * as archive from './archive';

type Operation = 'store' | 'relay' | 'list' | 'get' | 'replay' | 'purge';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as Operation;
	if (resource !== 'archive' || !(operation in archive)) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
	}
	const { archive: store, close } = await archiveFor(this);
	try {
		return [await archive[operation].execute.call(this, store)];
	} finally {
		close();
	}
}
