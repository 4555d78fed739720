/**
 * What the execution of one queue message says for its settlement: success, or a failure with its kind
 * (lib/util/failure.ts) as the node that failed made it. The kind is read from the n8n error's context,
 * which n8n keeps when it stores the error (in queue mode the main reads it back from the database as
 * plain JSON); the message text is only the reason shown to people.
 */
import type { IRun } from 'n8n-workflow';

import type { HandlerOutcome } from '../../lib/amqp/consumer';
import { failureOf } from '../../lib/util/failure';

export function outcomeOfRun(run: IRun | undefined): HandlerOutcome {
	if (!run)
		return {
			ok: false,
			failure: { kind: 'retryable', reason: 'n8n reported no execution for the message' },
		};
	const error = run.data.resultData.error;
	if (error) return { ok: false, failure: failureOf(error) };
	if (run.status === 'error' || run.status === 'crashed' || run.status === 'canceled')
		return { ok: false, failure: { kind: 'retryable', reason: `execution ${run.status}` } };
	return { ok: true };
}
