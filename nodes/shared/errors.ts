import { NodeApiError, NodeOperationError } from 'n8n-workflow';

/**
 * n8n's own error types, recognised also when they come from another copy of n8n-workflow than the
 * pack's (a peer dependency resolves to n8n's copy in production, but not always in a development setup),
 * where `instanceof` alone would say no and the error would be wrapped a second time.
 */
export function isNodeApiError(error: unknown): error is NodeApiError {
	return (
		error instanceof NodeApiError ||
		(error instanceof Error && error.constructor.name === 'NodeApiError')
	);
}

export function isN8nNodeError(error: unknown): error is NodeApiError | NodeOperationError {
	return (
		isNodeApiError(error) ||
		error instanceof NodeOperationError ||
		(error instanceof Error && error.constructor.name === 'NodeOperationError')
	);
}
