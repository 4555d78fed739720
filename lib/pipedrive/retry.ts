/**
 * What to do after a Pipedrive answer: go on, wait and retry, or stop with a clear error. Pure (the
 * caller sleeps and counts). Pipedrive's limits (token budget per day, bursts per 2 s, 10 searches per
 * 2 s) answer 429; an integration that keeps going after 429s gets a 403 HTML page from Cloudflare,
 * which must never be retried.
 */
import type { FailureKind } from '../util/failure';
import { redactVendorText } from '../util/redact';

export interface PipedriveAnswer {
	status: number;
	headers: Record<string, string | undefined>;
	/** The body as text, to tell a JSON error from an HTML block page. */
	bodyText?: string;
}

export type RetryDecision =
	| { action: 'done' }
	| { action: 'retry'; delayMs: number; reason: string }
	/**
	 * `retryable`: whether this request may be sent again (false for 401, 400, a block page); `kind`: what the
	 * failure means for the message that made the request (lib/util/failure.ts).
	 */
	| { action: 'fail'; message: string; retryable: boolean; kind: FailureKind };

export interface RetryPolicy {
	/** Attempts in all, the first included. */
	maxAttempts: number;
	baseDelayMs: number;
	maxDelayMs: number;
	/** A source of [0, 1) for jitter; Math.random by default, fixed in tests. */
	random?: () => number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
	maxAttempts: 5,
	baseDelayMs: 500,
	maxDelayMs: 30_000,
};

function header(answer: PipedriveAnswer, name: string): string | undefined {
	return answer.headers[name] ?? answer.headers[name.toLowerCase()];
}

function looksLikeJson(text: string | undefined): boolean {
	const t = text?.trimStart() ?? '';
	return t.startsWith('{') || t.startsWith('[');
}

/** Exponential backoff with jitter (0.5× to 1.5×), for answers that say nothing about when to come back. */
function serverBackoff(attempt: number, policy: RetryPolicy): number {
	const random = policy.random ?? Math.random;
	return Math.min(
		policy.maxDelayMs,
		Math.round(policy.baseDelayMs * 2 ** (attempt - 1) * (0.5 + random())),
	);
}

/** No answer at all (a connection reset, a timeout): retried like a 5xx, as often and with the same backoff. */
export function decideNoAnswer(
	attempt: number,
	policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryDecision {
	if (attempt >= policy.maxAttempts)
		return {
			action: 'fail',
			retryable: true,
			kind: 'retryable',
			message: `no answer from Pipedrive after ${attempt} attempts`,
		};
	return { action: 'retry', delayMs: serverBackoff(attempt, policy), reason: 'no answer' };
}

/** `attempt` counts from 1 (the request just answered). */
export function decide(
	answer: PipedriveAnswer,
	attempt: number,
	policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryDecision {
	const { status } = answer;
	if (status < 400) return { action: 'done' };
	const random = policy.random ?? Math.random;
	const lastAttempt = attempt >= policy.maxAttempts;

	if (status === 429) {
		const daily = header(answer, 'x-daily-ratelimit-token-remaining');
		if (daily !== undefined && Number(daily) <= 0) {
			return {
				action: 'fail',
				retryable: true,
				kind: 'lasting',
				message:
					'Pipedrive daily API token budget is used up (429); requests work again after the daily reset',
			};
		}
		if (lastAttempt)
			return {
				action: 'fail',
				retryable: true,
				kind: 'retryable',
				message: `Pipedrive still rate-limits after ${attempt} attempts (429)`,
			};
		const resetSeconds = Number(
			header(answer, 'x-ratelimit-reset') ?? header(answer, 'retry-after') ?? NaN,
		);
		const wait =
			Number.isFinite(resetSeconds) && resetSeconds >= 0
				? resetSeconds * 1000
				: policy.baseDelayMs * 2 ** (attempt - 1);
		// Jitter spreads the retries of parallel workers so that they do not hit the next window together.
		const delayMs = Math.min(policy.maxDelayMs, Math.round(wait + random() * policy.baseDelayMs));
		return { action: 'retry', delayMs, reason: 'rate limited (429)' };
	}
	if (status === 403 && !looksLikeJson(answer.bodyText)) {
		return {
			action: 'fail',
			retryable: false,
			kind: 'lasting',
			message:
				'Pipedrive answered 403 with a block page (not JSON): requests continued after rate limiting. Stop, wait, and lower the request rate; this is not retried.',
		};
	}
	if (status >= 500) {
		if (lastAttempt)
			return {
				action: 'fail',
				retryable: true,
				kind: 'retryable',
				message: `Pipedrive answered ${status} ${attempt} times`,
			};
		return {
			action: 'retry',
			delayMs: serverBackoff(attempt, policy),
			reason: `server error (${status})`,
		};
	}
	if (status === 401)
		return {
			action: 'fail',
			retryable: false,
			kind: 'lasting',
			message: 'Pipedrive refused the credentials (401): check the API token or reconnect OAuth',
		};
	return {
		action: 'fail',
		retryable: false,
		kind: 'retryable',
		message: `Pipedrive answered ${status}${answer.bodyText ? `: ${redactVendorText(answer.bodyText)}` : ''}`,
	};
}
