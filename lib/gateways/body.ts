import type { NormalisedEvent, VerifyOutcome } from './types';

/** An authentic body that is not JSON, or not an event of the gateway's shape, is rejected with the reason. */
export function normaliseJsonBody(rawBody: Buffer, normalise: (body: unknown) => NormalisedEvent): VerifyOutcome {
	let body: unknown;
	try {
		body = JSON.parse(rawBody.toString('utf8'));
	} catch {
		return { ok: false, reason: 'body is not JSON' };
	}
	try {
		return { ok: true, event: normalise(body) };
	} catch (error) {
		return { ok: false, reason: (error as Error).message };
	}
}
