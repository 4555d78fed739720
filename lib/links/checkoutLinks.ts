/**
 * The links that bring a buyer back to their payment page (`…/checkout/pay?lead=…`): the retry link
 * after a gateway outage, the link in a follow-up activity, the Elementor Redirect. Whoever holds such a
 * link sees a page prefilled with the buyer's name, CPF, phone and address, so a link is a bearer secret:
 *  - a link the pack makes is signed: lead id, expiry, the id of the key, and an HMAC-SHA256 of them under
 *    the shop's secret (192 bits of it in the link), so it cannot be guessed, enumerated or extended; the
 *    key id lets the secret rotate (the previous secret still opens the links it signed until they expire);
 *  - the Elementor Redirect cannot carry a value made by the server (Elementor builds it from the form's
 *    fields), so it carries a random token that a script on the shop's page put in a hidden field
 *    (crypto.randomUUID: 122 random bits); the lead id is a one-way hash of it, so knowing a lead id (from
 *    Pipedrive or a gateway dashboard) does not give the token.
 * Knowing an e-mail gets nothing. Unknown, expired, forged and paid links all get the same answer
 * (see `NEUTRAL_LINK_ANSWER`). The shop owner's report page is opened the same way: a signed, expiring
 * link (`reportLinkFor`), which a browser can bookmark. Pure, no n8n, no I/O.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_LINK_DAYS = 7;
const DAY_MS = 86_400_000;
const MAC_CHARS = 32; // base64url: 192 bits
const LEAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** crypto.randomUUID() (version 4: 122 random bits), or at least 22 base64url / 32 hex characters of randomness. */
const CHECKOUT_TOKEN =
	/^(?:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|[A-Za-z0-9_-]{22,128})$/i;

/** Secrets shorter than this are refused: a link's signature is only as strong as the secret behind it. */
export const MIN_SECRET_CHARS = 32;
const KEY_ID_CHARS = 8;

export interface LinkSettings {
	/** The shop's signing secret (the Checkout Links credential); at least MIN_SECRET_CHARS characters. */
	secret: string;
	/** The secret before the last rotation: it still opens the links it signed, and signs none. */
	previousSecret?: string;
	/** The report page's public address (GET); by default `report` beside the pay URL. */
	reportUrl?: string;
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
	const previousSecret = String(settings.previousSecret ?? '').trim() || undefined;
	for (const [what, value] of [
		['secret', secret],
		['previous secret', previousSecret],
	] as const)
		if (value !== undefined && value.length < MIN_SECRET_CHARS)
			throw new LinkSettingsError(
				`The Checkout Links ${what} must be at least ${MIN_SECRET_CHARS} characters (e.g. the output of \`openssl rand -base64 32\`)`,
			);
	const payUrl = httpAddress(settings.payUrl, 'pay URL');
	const reportUrl = settings.reportUrl?.trim()
		? httpAddress(settings.reportUrl, 'report URL')
		: new URL('report', payUrl).toString();
	const validDays = Number(settings.validDays ?? DEFAULT_LINK_DAYS);
	if (!Number.isFinite(validDays) || validDays <= 0)
		throw new LinkSettingsError('Checkout links must be valid for more than 0 days');
	return { secret, ...(previousSecret ? { previousSecret } : {}), payUrl, reportUrl, validDays };
}

function httpAddress(value: unknown, what: string): string {
	const address = String(value ?? '').trim();
	try {
		const url = new URL(address);
		if (!/^https?:$/.test(url.protocol)) throw new Error();
	} catch {
		throw new LinkSettingsError(
			`The Checkout Links ${what} "${address}" is not an http(s) address`,
		);
	}
	return address;
}

/** The id a secret's links carry: a one-way hash of it, so that the right one of two secrets is tried. */
export function keyIdOf(secret: string): string {
	return createHash('sha256')
		.update(`checkout-link-key|${secret}`)
		.digest('base64url')
		.slice(0, KEY_ID_CHARS);
}

/** The secrets that open links, current first. */
function secretsOf(keys: string | Pick<LinkSettings, 'secret' | 'previousSecret'>): string[] {
	if (typeof keys === 'string') return [keys];
	return keys.previousSecret ? [keys.secret, keys.previousSecret] : [keys.secret];
}

function hmac(secret: string, text: string): string {
	return createHmac('sha256', secret).update(text).digest('base64url').slice(0, MAC_CHARS);
}

function sameMac(given: string, expected: string): boolean {
	const a = Buffer.from(given);
	const b = Buffer.from(expected);
	return a.length === b.length && timingSafeEqual(a, b);
}

/** The MAC of a pay link token; links signed before key ids (three parts) have none in it. */
function mac(secret: string, leadId: string, expiresAtMs: number, keyId?: string): string {
	return hmac(
		secret,
		keyId === undefined
			? `checkout-pay-link|${leadId}|${expiresAtMs}`
			: `checkout-pay-link|${leadId}|${expiresAtMs}|${keyId}`,
	);
}

/** `{lead id}.{expiry, base 36 ms}.{key id}.{mac}`: what the `lead` query parameter of a pay link carries. */
export function signLinkToken(leadId: string, expiresAtMs: number, secret: string): string {
	if (!LEAD_ID.test(leadId)) throw new RangeError(`Not a lead id: "${leadId}"`);
	const expiry = Math.floor(expiresAtMs);
	const keyId = keyIdOf(secret);
	return `${leadId}.${expiry.toString(36)}.${keyId}.${mac(secret, leadId, expiry, keyId)}`;
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

/**
 * What a pay request's query points to, or why it points to nothing (for logs; the buyer sees one answer).
 * `keys`: the secret, or the settings with the current and the previous secret.
 */
export function openLink(
	query: Record<string, unknown>,
	keys: string | Pick<LinkSettings, 'secret' | 'previousSecret'>,
	nowMs = Date.now(),
): OpenedLink {
	const lead = typeof query.lead === 'string' ? query.lead.trim() : '';
	const token = typeof query.token === 'string' ? query.token.trim() : '';
	if (lead) {
		const parts = lead.split('.');
		const [leadId, expiry] = parts;
		const keyId = parts.length === 4 ? parts[2] : undefined;
		const given = parts[parts.length - 1];
		if (
			(parts.length !== 3 && parts.length !== 4) ||
			!LEAD_ID.test(leadId) ||
			!/^[0-9a-z]{1,12}$/.test(expiry) ||
			(keyId !== undefined && !/^[A-Za-z0-9_-]+$/.test(keyId)) ||
			given.length !== MAC_CHARS
		)
			return { ok: false, reason: 'malformed' };
		const expiresAtMs = parseInt(expiry, 36);
		// A key id names its secret; a link from before key ids is tried with each.
		const candidates = secretsOf(keys).filter((s) => keyId === undefined || keyIdOf(s) === keyId);
		if (!candidates.some((s) => sameMac(given, mac(s, leadId, expiresAtMs, keyId))))
			return { ok: false, reason: 'forged' };
		if (expiresAtMs <= nowMs) return { ok: false, reason: 'expired' };
		return { ok: true, leadId, via: 'signed', expiresAtMs };
	}
	if (token)
		return isCheckoutToken(token)
			? { ok: true, leadId: leadIdOfToken(token), via: 'token' }
			: { ok: false, reason: 'malformed' };
	return { ok: false, reason: 'missing' };
}

/** How long a report link opens the report, by default: a month of Mondays' summaries overlap. */
export const DEFAULT_REPORT_LINK_DAYS = 30;

/**
 * A signed, expiring link to the report page (for the weekly summary, a bookmark): `?until={expiry, base
 * 36 ms}&key={key id}&sig={mac}`. The report shows counts and amounts, never a buyer.
 */
export function reportLinkFor(
	settings: Pick<LinkSettings, 'secret' | 'reportUrl' | 'payUrl'>,
	nowMs = Date.now(),
	validDays = DEFAULT_REPORT_LINK_DAYS,
): { url: string; expiresAt: string } {
	const expiresAtMs = Math.floor(nowMs + validDays * DAY_MS);
	const keyId = keyIdOf(settings.secret);
	const url = new URL(settings.reportUrl ?? new URL('report', settings.payUrl).toString());
	url.searchParams.set('until', expiresAtMs.toString(36));
	url.searchParams.set('key', keyId);
	url.searchParams.set('sig', hmac(settings.secret, `checkout-report|${expiresAtMs}|${keyId}`));
	return { url: url.toString(), expiresAt: new Date(expiresAtMs).toISOString() };
}

/** Whether a report request's query is a signed link still valid; why not otherwise (for logs). */
export function openReportLink(
	query: Record<string, unknown>,
	keys: Pick<LinkSettings, 'secret' | 'previousSecret'>,
	nowMs = Date.now(),
):
	| { ok: true; expiresAtMs: number }
	| { ok: false; reason: 'missing' | 'malformed' | 'forged' | 'expired' } {
	const text = (name: string) => (typeof query[name] === 'string' ? (query[name] as string) : '');
	const [until, keyId, sig] = [text('until'), text('key'), text('sig')];
	if (!until && !keyId && !sig) return { ok: false, reason: 'missing' };
	if (
		!/^[0-9a-z]{1,12}$/.test(until) ||
		!/^[A-Za-z0-9_-]{1,16}$/.test(keyId) ||
		sig.length !== MAC_CHARS
	)
		return { ok: false, reason: 'malformed' };
	const expiresAtMs = parseInt(until, 36);
	const secret = secretsOf(keys).find((s) => keyIdOf(s) === keyId);
	if (!secret || !sameMac(sig, hmac(secret, `checkout-report|${expiresAtMs}|${keyId}`)))
		return { ok: false, reason: 'forged' };
	if (expiresAtMs <= nowMs) return { ok: false, reason: 'expired' };
	return { ok: true, expiresAtMs };
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
