import { decide, decideNoAnswer, type PipedriveAnswer } from '../../lib/pipedrive/retry';

const policy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 30_000, random: () => 0.5 };
const answer = (
	status: number,
	headers: Record<string, string> = {},
	bodyText?: string,
): PipedriveAnswer => ({ status, headers, bodyText });

describe('Pipedrive retry policy', () => {
	it('goes on after success', () => {
		expect(decide(answer(201), 1, policy)).toEqual({ action: 'done' });
	});

	it('waits for the rate-limit window named in x-ratelimit-reset, plus jitter', () => {
		expect(decide(answer(429, { 'x-ratelimit-reset': '2' }), 1, policy)).toEqual({
			action: 'retry',
			delayMs: 2250,
			reason: 'rate limited (429)',
		});
		expect(
			decide(answer(429, { 'x-ratelimit-reset': '2' }), 1, { ...policy, random: () => 0 }),
		).toMatchObject({ delayMs: 2000 });
	});

	it('backs off exponentially when no reset header came, and gives up after the attempts', () => {
		expect(decide(answer(429), 1, policy)).toMatchObject({ delayMs: 750 });
		expect(decide(answer(429), 3, policy)).toMatchObject({ delayMs: 2250 });
		expect(decide(answer(429), 4, policy)).toMatchObject({ action: 'fail', retryable: true });
	});

	it('stops at once when the daily token budget is used up', () => {
		expect(
			decide(
				answer(429, { 'x-daily-ratelimit-token-remaining': '0', 'x-ratelimit-reset': '1' }),
				1,
				policy,
			),
		).toMatchObject({ action: 'fail', message: expect.stringMatching(/daily/) });
	});

	it('never retries a 403 block page, but reports a JSON 403 as a plain error', () => {
		expect(
			decide(
				answer(403, {}, '<!DOCTYPE html><title>Attention Required! | Cloudflare</title>'),
				1,
				policy,
			),
		).toMatchObject({
			action: 'fail',
			retryable: false,
			message: expect.stringMatching(/block page/),
		});
		expect(
			decide(answer(403, {}, '{"success":false,"error":"feature_capping_deals_limit"}'), 1, policy),
		).toMatchObject({
			action: 'fail',
			retryable: false,
			message: expect.stringMatching(/feature_capping/),
		});
	});

	it('retries 5xx a bounded number of times, and not 4xx', () => {
		expect(decide(answer(502), 1, policy)).toEqual({
			action: 'retry',
			delayMs: 500,
			reason: 'server error (502)',
		});
		expect(decide(answer(500), 4, policy)).toMatchObject({ action: 'fail', retryable: true });
		expect(decide(answer(400, {}, '{"error":"bad"}'), 1, policy)).toMatchObject({
			action: 'fail',
			retryable: false,
		});
		expect(decide(answer(401), 1, policy)).toMatchObject({
			action: 'fail',
			message: expect.stringMatching(/credentials/),
		});
	});

	it('retries a request that got no answer (reset, timeout) like a 5xx: same backoff, same bound', () => {
		expect(decideNoAnswer(1, policy)).toEqual({
			action: 'retry',
			delayMs: 500,
			reason: 'no answer',
		});
		expect(decideNoAnswer(3, { ...policy, random: () => 0 })).toMatchObject({ delayMs: 1000 });
		expect(decideNoAnswer(4, policy)).toEqual({
			action: 'fail',
			retryable: true,
			kind: 'retryable',
			message: 'no answer from Pipedrive after 4 attempts',
		});
	});

	it('says what a failure means for the queue where it is made: lasting for a refused token, a block page or the daily budget; retryable otherwise', () => {
		const kind = (a: ReturnType<typeof answer>, attempt = 1) => {
			const d = decide(a, attempt, policy);
			return d.action === 'fail' ? d.kind : d.action;
		};
		expect(kind(answer(401))).toBe('lasting');
		expect(kind(answer(403, {}, '<html>blocked</html>'))).toBe('lasting');
		expect(kind(answer(429, { 'x-daily-ratelimit-token-remaining': '0' }))).toBe('lasting');
		expect(kind(answer(429), 4)).toBe('retryable');
		expect(kind(answer(500), 4)).toBe('retryable');
		expect(kind(answer(400, {}, '{"error":"bad"}'))).toBe('retryable');
		expect(kind(answer(403, {}, '{"error":"no permission"}'))).toBe('retryable');
	});
});
