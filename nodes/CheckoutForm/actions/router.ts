import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { dispatch, type NodeOperation } from '../../shared/operation';
import * as form from './form';

/** The Checkout Form's operations. */
export type FormOperation = 'openLink' | 'parse';

const operations = {
	openLink: form.openLink,
	parse: form.parse,
} satisfies Record<FormOperation, NodeOperation>;

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await dispatch(this, operations);
}
