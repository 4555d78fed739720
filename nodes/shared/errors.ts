import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import {
	FAILURE_CONTEXT_KEY,
	failureKindOf,
	failureServiceOf,
	type FailureKind,
} from '../../lib/util/failure';

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

/**
 * Puts the failure kind (lib/util/failure.ts) into an n8n error's context, where it survives n8n storing
 * the execution's error, and where the Checkout Queue Trigger reads it. `kind` defaults to the one the
 * error (or its cause) carries; an error that carries none is left as it is.
 */
export function withFailureKind<E extends NodeApiError | NodeOperationError>(
	error: E,
	kind: FailureKind | undefined = failureKindOf(error),
	service: string | undefined = failureServiceOf(error),
): E {
	if (kind)
		error.context = {
			...(error.context ?? {}),
			[FAILURE_CONTEXT_KEY]: { kind, ...(service ? { service } : {}) },
		};
	return error;
}
