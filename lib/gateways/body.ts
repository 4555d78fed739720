import { GATEWAY_BODY_LIMITS, UntrustedInputError, parseJsonSafely } from '../http/untrusted';
import type { NormalisedEvent, VerifyOutcome } from './types';

/**
 * An authentic body that is not JSON, or not an event of the gateway's shape, is rejected with the reason.
 * Parsed through lib/http/untrusted: a signed body is the gateway's, but Mercado Pago's notification is
 * only signed in its headers, and nothing built from a request may carry a prototype key.
 */
export function normaliseJsonBody(
	rawBody: Buffer,
	normalise: (body: unknown) => NormalisedEvent,
): VerifyOutcome {
	let body: unknown;
	try {
		body = parseJsonSafely(rawBody.toString('utf8'), GATEWAY_BODY_LIMITS);
	} catch (error) {
		return {
			ok: false,
			reason: error instanceof UntrustedInputError ? error.message : 'body is not JSON',
		};
	}
	try {
		return { ok: true, event: normalise(body) };
	} catch (error) {
		return { ok: false, reason: (error as Error).message };
	}
}
