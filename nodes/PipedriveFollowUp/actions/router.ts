import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { dispatch, type NodeOperation } from '../../shared/operation';
import * as followUp from './followUp';

/** The Pipedrive Follow-Up's operations. */
export type FollowUpOperation =
	'applyCheckoutEvent' | 'checkoutReport' | 'runFollowUpRules' | 'setup' | 'upsertLead';

const operations = {
	applyCheckoutEvent: followUp.applyCheckoutEvent,
	checkoutReport: followUp.checkoutReport,
	runFollowUpRules: followUp.runFollowUpRules,
	setup: followUp.setup,
	upsertLead: followUp.upsertLead,
} satisfies Record<FollowUpOperation, NodeOperation>;

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await dispatch(this, operations);
}
