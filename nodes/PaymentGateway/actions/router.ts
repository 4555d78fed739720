import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { dispatch, type NodeOperation } from '../../shared/operation';
import * as payment from './payment';

/** The Payment Gateway's operations; each reads the "Provider" parameter itself. */
export type PaymentOperation =
	'confirmEvent' | 'createPaymentLink' | 'getPayment' | 'verifyWebhook';

const operations = {
	confirmEvent: payment.confirmEvent,
	createPaymentLink: payment.createPaymentLink,
	getPayment: payment.getPayment,
	verifyWebhook: payment.verifyWebhook,
} satisfies Record<PaymentOperation, NodeOperation>;

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await dispatch(this, operations);
}
