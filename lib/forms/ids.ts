import { createHash, randomBytes } from 'node:crypto';

/** A UUIDv7 (RFC 9562): 48-bit ms timestamp, then random bits; sorts by creation time. */
export function uuidv7(now = Date.now(), random: Buffer = randomBytes(16)): string {
	const bytes = Buffer.from(random.subarray(0, 16));
	const ms = BigInt(now);
	for (let i = 0; i < 6; i++) bytes[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
	bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
	bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 10
	const hex = bytes.toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const LEAD_BUCKET_MS = 30 * 60 * 1000;

/**
 * The same lead id for the same buyer e-mail within a 30-minute window: an Elementor form's webhook
 * (server to server) and its Redirect (the browser, carrying only the e-mail) then find the one stored
 * lead without passing an id between them, and a form submitted twice is one lead. Still a UUIDv7 (the
 * window's start as its time), so leads stay time-sortable.
 */
export function deterministicLeadId(email: string, at: number): string {
	const bucket = Math.floor(at / LEAD_BUCKET_MS) * LEAD_BUCKET_MS;
	const digest = createHash('sha256').update(`${email.trim().toLowerCase()}|${bucket}`).digest();
	return uuidv7(bucket, digest);
}

/** The ids a redirect arriving at `at` may be looking for: this window's, then the previous one's. */
export function candidateLeadIds(email: string, at: number): string[] {
	return [deterministicLeadId(email, at), deterministicLeadId(email, at - LEAD_BUCKET_MS)];
}
