import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import { archiveFor } from '../transport';
import * as archive from './archive';

type Operation = 'store' | 'relay' | 'list' | 'get' | 'replay' | 'purge' | 'redrive' | 'closeLinks';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const resource = this.getNodeParameter('resource', 0) as string;
	const operation = this.getNodeParameter('operation', 0) as Operation;
	if (resource !== 'archive' || !(operation in archive)) {
		throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);
	}
	// Re-drive works on the queues alone (no S3 credential needed).
	if (operation === 'redrive') return [await archive.redrive.execute.call(this)];
	const { archive: store, close } = await archiveFor(this);
	try {
		return [await archive[operation as Exclude<Operation, 'redrive'>].execute.call(this, store)];
	} finally {
		close();
	}
}
