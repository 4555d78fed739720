import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSha256Hex(key: string, message: string | Buffer): string {
	return createHmac('sha256', key).update(message).digest('hex');
}

/** Constant-time string comparison (length leaks, content does not). */
export function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a, 'utf8');
	const y = Buffer.from(b, 'utf8');
	if (x.length !== y.length) {
		// Still spend the time of a comparison, then fail.
		timingSafeEqual(x, x);
		return false;
	}
	return timingSafeEqual(x, y);
}

/** Same request, same key: a retried create returns the first result instead of creating a second. */
export function idempotencyKey(kind: string, leadRef: string, request: unknown): string {
	return `${kind}-${leadRef}-${createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 16)}`;
}
