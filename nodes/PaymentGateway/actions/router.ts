import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import type { ProviderId } from '../../../lib/gateways/types';
import * as payment from './payment';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const provider = this.getNodeParameter('provider', 0) as ProviderId;
	const operation = this.getNodeParameter('operation', 0) as string;
	switch (operation) {
		case 'confirmEvent':
			return [await payment.confirmEvent.execute.call(this, provider)];
		case 'createPaymentLink':
			return [await payment.createPaymentLink.execute.call(this, provider)];
		case 'getPayment':
			return [await payment.getPayment.execute.call(this, provider)];
		case 'verifyWebhook':
			return await payment.verifyWebhook.execute.call(this, provider);
		default:
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not supported`);
	}
}
