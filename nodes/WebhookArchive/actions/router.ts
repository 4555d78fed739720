import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { dispatch, type NodeOperation } from '../../shared/operation';
import * as archive from './archive';

/** The Webhook Archive's one resource ("archive") and its operations. */
export type ArchiveOperation =
	'closeLinks' | 'get' | 'list' | 'purge' | 'redrive' | 'relay' | 'replay' | 'store';

const operations = {
	closeLinks: archive.closeLinks,
	get: archive.get,
	list: archive.list,
	purge: archive.purge,
	redrive: archive.redrive,
	relay: archive.relay,
	replay: archive.replay,
	store: archive.store,
} satisfies Record<ArchiveOperation, NodeOperation>;

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	return await dispatch(this, operations);
}
