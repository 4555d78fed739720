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

/**
 * Same checkout asked for again (a retry, a double click), same key: the gateway returns the first result
 * instead of creating a second. Keyed on what the buyer and the shop asked for, not on times computed per
 * call (expiry), so a retry a second later still matches; a corrected form gets a key of its own.
 */
export function idempotencyKey(
	kind: string,
	req: {
		leadRef: string;
		buyer: unknown;
		items: unknown;
		currency: string;
		successUrl: string;
		cancelUrl: string;
	},
): string {
	const { leadRef, buyer, items, currency, successUrl, cancelUrl } = req;
	const digest = createHash('sha256')
		.update(JSON.stringify({ buyer, items, currency, successUrl, cancelUrl }))
		.digest('hex')
		.slice(0, 16);
	return `${kind}-${leadRef}-${digest}`;
}
