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

/** JSON with object keys sorted, so that equal content gives equal text whatever the key order. */
function canonicalJson(value: unknown): string {
	if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
	if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
	const entries = Object.entries(value as Record<string, unknown>).filter(
		([, v]) => v !== undefined,
	);
	return `{${entries
		.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
		.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`)
		.join(',')}}`;
}

/**
 * The revision of a lead's content: equal for the same buyer data (a double click), different when the
 * buyer corrected something (another product, phone). Times are left out, as a resubmission differs in
 * them only. The archive stores each revision of a lead under `{lead id}.{revision}`.
 */
export function leadRevision(lead: object): string {
	const { capturedAt, consent, ...rest } = lead as {
		capturedAt?: unknown;
		consent?: { given?: unknown };
	};
	return createHash('sha256')
		.update(canonicalJson({ ...rest, consent: consent?.given === true }))
		.digest('hex')
		.slice(0, 12);
}

/**
 * The revision id of one post of a lead: its content's revision and when it was captured (ms, base 36),
 * so that a post bringing a lead back to earlier values (an Elementor correction A → B → A) is a new
 * revision, the newest, instead of a duplicate of the first that left the lead at B. The same post sent
 * twice makes two revisions of equal content, which change nothing downstream (one lead id, one deal).
 */
export function leadRevisionAt(lead: object, capturedAtMs: number): string {
	return `${leadRevision(lead)}${Math.max(0, Math.floor(capturedAtMs)).toString(36)}`;
}

/** The archive event id of one revision of a lead. */
export function leadRevisionEventId(leadId: string, revision: string): string {
	return `${leadId}.${revision}`;
}
