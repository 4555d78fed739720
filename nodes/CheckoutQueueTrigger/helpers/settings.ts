/** The Checkout Queue Trigger's settings for handling a message: attempts, retry backoff, timeout. */
import type { ITriggerFunctions } from 'n8n-workflow';

export interface HandlingSettings {
	maxAttempts: number;
	/** Wait before the first retry (it doubles on each retry). */
	retryDelayMs: number;
	handlerTimeoutMs: number;
}

export function readHandlingSettings(ctx: ITriggerFunctions): HandlingSettings {
	const maxAttempts = Math.max(1, Number(ctx.getNodeParameter('maxAttempts', 5)));
	const retryDelayMs = Math.max(0, Number(ctx.getNodeParameter('retryDelaySeconds', 5))) * 1000;
	// n8n stops an execution at the workflow's own timeout (Settings → Timeout Workflow); the trigger's
	// guard waits longer than that, so an execution it gives up on has been stopped by n8n and a retry of
	// its message never runs beside it.
	const workflowTimeoutSeconds = Number(ctx.getWorkflowSettings?.()?.executionTimeout ?? -1);
	const handlerTimeoutMs =
		Math.max(
			Number(ctx.getNodeParameter('executionTimeoutSeconds', 600)),
			workflowTimeoutSeconds > 0 ? workflowTimeoutSeconds + 30 : 1,
		) * 1000;
	return { maxAttempts, retryDelayMs, handlerTimeoutMs };
}
