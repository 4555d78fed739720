/**
 * The links that bring a buyer back to their payment page (`…/checkout/pay?lead=…`): the retry link
 * after a gateway outage, the link in a follow-up activity, the Elementor Redirect. Whoever holds such a
 * link sees a page prefilled with the buyer's name, CPF, phone and address, so a link is a bearer secret:
 *  - a link the pack makes is signed: lead id, expiry, and an HMAC-SHA256 of both under the shop's
 *    secret (192 bits of it in the link), so it cannot be guessed, enumerated or extended;
 *  - the Elementor Redirect cannot carry a value made by the server (Elementor builds it from the form's
 *    fields), so it carries a random token that a script on the shop's page put in a hidden field
 *    (crypto.randomUUID: 122 random bits); the lead id is a one-way hash of it, so knowing a lead id (from
 *    Pipedrive or a gateway dashboard) does not give the token.
 * Knowing an e-mail gets nothing. Unknown, expired, forged and paid links all get the same answer
 * (see `NEUTRAL_LINK_ANSWER`). Pure, no n8n, no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_LINK_DAYS = 7;
const DAY_MS = 86_400_000;
const MAC_CHARS = 32; // base64url: 192 bits
const LEAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** crypto.randomUUID() (version 4: 122 random bits), or at least 22 base64url / 32 hex characters of randomness. */
const CHECKOUT_TOKEN =
	/^(?:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[A-Za-z0-9_-]{22,128})$/i;

export interface LinkSettings {
	/** The shop's signing secret (the Checkout Links credential); at least 16 characters. */
	secret: string;
	/** The public address of the lead capture workflow's pay endpoint, e.g. https://n8n.example.com/webhook/checkout/pay. */
	payUrl: string;
	/** How long a link stays valid. */
	validDays: number;
}

export class LinkSettingsError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'LinkSettingsError';
	}
}

export function checkLinkSettings(settings: Partial<LinkSettings>): LinkSettings {
	const secret = String(settings.secret ?? '');
	if (secret.length < 16)
		throw new LinkSettingsError(
			'The Checkout Links secret must be at least 16 characters (e.g. the output of `openssl rand -base64 32`)',
		);
	const payUrl = String(settings.payUrl ?? '').trim();
	try {
		const url = new URL(payUrl);
		if (!/^https?:$/.test(url.protocol)) throw new Error();
	} catch {
		throw new LinkSettingsError(`The Checkout Links pay URL "${payUrl}" is not an http(s) address`);
	}
	const validDays = Number(settings.validDays ?? DEFAULT_LINK_DAYS);
	if (!Number.isFinite(validDays) || validDays <= 0)
		throw new LinkSettingsError('Checkout links must be valid for more than 0 days');
	return { secret, payUrl, validDays };
}

function mac(secret: string, leadId: string, expiresAtMs: number): string {
	return createHmac('sha256', secret)
		.update(`checkout-pay-link|${leadId}|${expiresAtMs}`)
		.digest('base64url')
		.slice(0, MAC_CHARS);
}

/** `{lead id}.{expiry, base 36 ms}.{mac}`: what the `lead` query parameter of a pay link carries. */
export function signLinkToken(leadId: string, expiresAtMs: number, secret: string): string {
	if (!LEAD_ID.test(leadId)) throw new RangeError(`Not a lead id: "${leadId}"`);
	const expiry = Math.floor(expiresAtMs);
	return `${leadId}.${expiry.toString(36)}.${mac(secret, leadId, expiry)}`;
}

/** A signed pay link for a lead, valid for the configured days from `nowMs`. */
export function payLinkFor(
	leadId: string,
	settings: LinkSettings,
	nowMs = Date.now(),
): { url: string; expiresAt: string } {
	const expiresAtMs = nowMs + settings.validDays * DAY_MS;
	const url = new URL(settings.payUrl);
	url.searchParams.set('lead', signLinkToken(leadId, expiresAtMs, settings.secret));
	return { url: url.toString(), expiresAt: new Date(expiresAtMs).toISOString() };
}

export type OpenedLink =
	| { ok: true; leadId: string; via: 'signed'; expiresAtMs: number }
	/** The Elementor token: valid for the link days from the lead's capture, which only the archive knows. */
	| { ok: true; leadId: string; via: 'token' }
	| { ok: false; reason: 'missing' | 'malformed' | 'forged' | 'expired' };

/** What a pay request's query points to, or why it points to nothing (for logs; the buyer sees one answer). */
export function openLink(
	query: Record<string, unknown>,
	secret: string,
	nowMs = Date.now(),
): OpenedLink {
	const lead = typeof query.lead === 'string' ? query.lead.trim() : '';
	const token = typeof query.token === 'string' ? query.token.trim() : '';
	if (lead) {
		const parts = lead.split('.');
		if (
			parts.length !== 3 ||
			!LEAD_ID.test(parts[0]) ||
			!/^[0-9a-z]{1,12}$/.test(parts[1]) ||
			parts[2].length !== MAC_CHARS
		)
			return { ok: false, reason: 'malformed' };
		const expiresAtMs = parseInt(parts[1], 36);
		const expected = Buffer.from(mac(secret, parts[0], expiresAtMs));
		const given = Buffer.from(parts[2]);
		if (given.length !== expected.length || !timingSafeEqual(given, expected))
			return { ok: false, reason: 'forged' };
		if (expiresAtMs <= nowMs) return { ok: false, reason: 'expired' };
		return { ok: true, leadId: parts[0], via: 'signed', expiresAtMs };
	}
	if (token)
		return isCheckoutToken(token)
			? { ok: true, leadId: leadIdOfToken(token), via: 'token' }
			: { ok: false, reason: 'malformed' };
	return { ok: false, reason: 'missing' };
}

export function isCheckoutToken(token: string): boolean {
	return CHECKOUT_TOKEN.test(token);
}

/**
 * The lead id of an Elementor checkout token: a UUID (version 8, RFC 9562) made of its SHA-256, so the
 * webhook post and the Redirect agree on it without passing anything between them, and the id does not
 * reveal the token.
 */
export function leadIdOfToken(token: string): string {
	const bytes = createHash('sha256')
		.update(`checkout-token|${token.toLowerCase()}`)
		.digest()
		.subarray(0, 16);
	bytes[6] = (bytes[6] & 0x0f) | 0x80;
	bytes[8] = (bytes[8] & 0x3f) | 0x80;
	const hex = bytes.toString('hex');
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Whether a token-opened lead captured at `capturedAt` is still within the link days. */
export function tokenLinkValid(
	capturedAt: string | undefined,
	validDays: number,
	nowMs = Date.now(),
): boolean {
	const at = Date.parse(capturedAt ?? '');
	return Number.isFinite(at) && at + validDays * DAY_MS > nowMs;
}
