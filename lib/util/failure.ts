/**
 * What kind of failure an error is, decided where the error is made, and read by whoever must react to it
 * (the queue consumer: pause, retry, or dead-letter) without reading its message:
 *  - `lasting`: retrying in seconds cannot heal it (a service refusing the credentials, blocking the
 *    integration, down, or out of budget); the queue pauses instead of spending message after message;
 *  - `retryable`: this message may go through on a later try (a 5xx that outlasted the request's own
 *    retries, a payment the gateway does not know yet); retried with backoff, then dead-lettered;
 *  - `poison`: no try can ever succeed (a body that is not a message of the pack); dead-lettered at once.
 * An error that carries no kind counts as `retryable`, what every failure was before kinds existed.
 *
 * The kind travels inside n8n as the `checkoutFailure` entry of an n8n error's `context`, which n8n keeps
 * when it stores an execution's error (ExecutionBaseError.toJSON keeps `context`), also in queue mode where
 * the main reads the error back from the database. Pure, no n8n.
 */
export type FailureKind = 'lasting' | 'retryable' | 'poison';

export interface Failure {
	kind: FailureKind;
	/** Why, in words for people (a log line, a dead letter's reason); never parsed. */
	reason: string;
	/** The service that failed (`pipedrive`, a gateway's id), when known: what a paused queue probes. */
	service?: string;
}

/** Where an n8n error's `context` carries the failure (nodes/shared/operation.ts puts it there). */
export const FAILURE_CONTEXT_KEY = 'checkoutFailure';

const KINDS: readonly FailureKind[] = ['lasting', 'retryable', 'poison'];

function isKind(value: unknown): value is FailureKind {
	return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}

/** An error that knows its kind: thrown by lib/ modules (PipedriveError) and the pack's transports. */
export interface KindedError extends Error {
	failureKind: FailureKind;
	failureService?: string;
}

/** Marks `error` with its kind (returned, for `throw markFailure(new Error(…), 'lasting')`). */
export function markFailure<E extends Error>(
	error: E,
	kind: FailureKind,
	service?: string,
): E & KindedError {
	return Object.assign(error, { failureKind: kind }, service ? { failureService: service } : {});
}

/** The service an error names as the one that failed (see Failure.service), wherever it carries it. */
export function failureServiceOf(error: unknown, depth = 0): string | undefined {
	if (!error || typeof error !== 'object' || depth > 4) return undefined;
	const e = error as {
		failureService?: unknown;
		context?: Record<string, unknown>;
		cause?: unknown;
	};
	if (typeof e.failureService === 'string') return e.failureService;
	const carried = e.context?.[FAILURE_CONTEXT_KEY] as { service?: unknown } | undefined;
	if (typeof carried?.service === 'string') return carried.service;
	return failureServiceOf(e.cause, depth + 1);
}

/**
 * The kind an error carries: on itself (`failureKind`), in an n8n error's context (also after n8n stored
 * and read it back as plain JSON), or on its cause; undefined when none says.
 */
export function failureKindOf(error: unknown, depth = 0): FailureKind | undefined {
	if (!error || typeof error !== 'object' || depth > 4) return undefined;
	const e = error as {
		failureKind?: unknown;
		context?: Record<string, unknown>;
		cause?: unknown;
	};
	if (isKind(e.failureKind)) return e.failureKind;
	const carried = e.context?.[FAILURE_CONTEXT_KEY] as { kind?: unknown } | undefined;
	if (isKind(carried?.kind)) return carried.kind;
	return failureKindOf(e.cause, depth + 1);
}

/** The failure an error stands for: its kind (retryable when it carries none) and its message. */
export function failureOf(error: unknown): Failure {
	const reason =
		error instanceof Error
			? error.message
			: error && typeof error === 'object' && typeof (error as Error).message === 'string'
				? (error as Error).message
				: String(error);
	const service = failureServiceOf(error);
	return { kind: failureKindOf(error) ?? 'retryable', reason, ...(service ? { service } : {}) };
}
