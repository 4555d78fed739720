/**
 * What a failed request to a payment gateway means for the message that made it (lib/util/failure.ts):
 * a gateway down, refusing the credentials, timing out or rate-limiting (or no answer at all) is lasting,
 * since retrying a few seconds later cannot help and dead-lettering would send every claim after it to the
 * dead-letter queue; any other answer (a 404 for a payment the gateway does not know) is retryable, and
 * the message is dead-lettered with its reason after its attempts.
 */
import type { FailureKind } from '../util/failure';

const LASTING_STATUSES = new Set([401, 403, 408, 429]);

/** `status`: the gateway's HTTP status, undefined when no answer came. */
export function gatewayFailureKind(status: number | undefined): FailureKind {
	if (status === undefined || !Number.isFinite(status) || status <= 0) return 'lasting';
	return LASTING_STATUSES.has(status) || status >= 500 ? 'lasting' : 'retryable';
}
