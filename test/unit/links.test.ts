import { createHmac } from 'node:crypto';

import {
	checkLinkSettings,
	openReportLink,
	reportLinkFor,
	leadIdOfToken,
	openLink,
	payLinkFor,
	signLinkToken,
	tokenLinkValid,
} from '../../lib/links/checkoutLinks';
import { uuidv7 } from '../../lib/forms/ids';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const DAY = 86_400_000;
const settings = checkLinkSettings({
	secret: 'test-secret-0123456789-0123456789-abc',
	payUrl: 'https://n8n.example.com/webhook/checkout/pay',
	validDays: 7,
});

const leadOf = (url: string) => new URL(url).searchParams.get('lead')!;

describe('signed pay links', () => {
	const leadId = uuidv7(NOW);

	it('open their lead until they expire, after the configured days', () => {
		const link = payLinkFor(leadId, settings, NOW);
		expect(link.expiresAt).toBe(new Date(NOW + 7 * DAY).toISOString());
		expect(link.url.startsWith('https://n8n.example.com/webhook/checkout/pay?lead=')).toBe(true);
		expect(openLink({ lead: leadOf(link.url) }, settings.secret, NOW + 7 * DAY - 1)).toEqual({
			ok: true,
			leadId,
			via: 'signed',
			expiresAtMs: NOW + 7 * DAY,
		});
		expect(openLink({ lead: leadOf(link.url) }, settings.secret, NOW + 7 * DAY)).toEqual({
			ok: false,
			reason: 'expired',
		});
	});

	it('cannot be extended, moved to another lead, guessed or signed with another secret', () => {
		const token = signLinkToken(leadId, NOW + DAY, settings.secret);
		const [id, expiry, keyId, mac] = token.split('.');
		expect(mac.length * 6).toBeGreaterThanOrEqual(122);
		const later = (NOW + 365 * DAY).toString(36);
		expect(openLink({ lead: `${id}.${later}.${keyId}.${mac}` }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(
			openLink({ lead: `${uuidv7(NOW + 1)}.${expiry}.${keyId}.${mac}` }, settings.secret, NOW),
		).toEqual({ ok: false, reason: 'forged' });
		expect(
			openLink({ lead: `${id}.${expiry}.${keyId}.${'A'.repeat(32)}` }, settings.secret, NOW),
		).toEqual({ ok: false, reason: 'forged' });
		// Without its key id, the MAC is not the one of a link from before key ids either.
		expect(openLink({ lead: `${id}.${expiry}.${mac}` }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(openLink({ lead: token }, 'another-secret-0123456789-0123456789', NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		// The bare lead id (what an older link, Pipedrive or a gateway dashboard shows) opens nothing.
		expect(openLink({ lead: leadId }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'malformed',
		});
	});

	it('an e-mail opens nothing', () => {
		expect(openLink({ email: 'ana@example.com' }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'missing',
		});
		expect(openLink({ lead: ['a', 'b'], token: { x: 1 } }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'missing',
		});
	});
});

describe('Elementor checkout tokens', () => {
	const token = '7c1f0e9a-3b2d-4e5f-8a6b-9c0d1e2f3a4b';

	it('give the same lead id to the webhook post and the Redirect, which does not reveal the token', () => {
		const leadId = leadIdOfToken(token);
		expect(leadId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
		expect(leadIdOfToken(token.toUpperCase())).toBe(leadId);
		expect(leadIdOfToken('7c1f0e9a-3b2d-4e5f-8a6b-9c0d1e2f3a4c')).not.toBe(leadId);
		expect(openLink({ token }, settings.secret, NOW)).toEqual({ ok: true, leadId, via: 'token' });
		expect(openLink({ token: 'predictable' }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'malformed',
		});
	});

	it('are valid for the link days from the lead capture', () => {
		const captured = new Date(NOW).toISOString();
		expect(tokenLinkValid(captured, 7, NOW + 7 * DAY - 1)).toBe(true);
		expect(tokenLinkValid(captured, 7, NOW + 7 * DAY)).toBe(false);
		expect(tokenLinkValid(undefined, 7, NOW)).toBe(false);
	});
});

it('refuses a weak secret (current or previous) or a pay or report URL that is not http(s)', () => {
	const long = 'long-enough-secret-0123456789-0123';
	expect(() =>
		checkLinkSettings({ secret: 'x'.repeat(31), payUrl: 'https://x.example/pay' }),
	).toThrow(/32 characters/);
	expect(() =>
		checkLinkSettings({ secret: long, previousSecret: 'short', payUrl: 'https://x.example/pay' }),
	).toThrow(/previous secret must be at least 32/);
	expect(() => checkLinkSettings({ secret: long, payUrl: 'javascript:alert(1)' })).toThrow(
		/not an http/,
	);
	expect(() =>
		checkLinkSettings({ secret: long, payUrl: 'https://x.example/pay', reportUrl: 'ftp://x' }),
	).toThrow(/report URL "ftp:\/\/x" is not an http/);
	const checked = checkLinkSettings({
		secret: long,
		payUrl: 'https://x.example/webhook/checkout/pay',
	});
	expect(checked.validDays).toBe(7);
	expect(checked.reportUrl).toBe('https://x.example/webhook/checkout/report');
});

describe('rotating the secret', () => {
	const leadId = uuidv7(NOW);
	const old = settings.secret;
	const rotated = checkLinkSettings({
		secret: 'the-new-secret-after-rotation-0123456789',
		previousSecret: old,
		payUrl: settings.payUrl,
	});

	it('keeps the links the previous secret signed working until they expire, and signs new ones with the new one', () => {
		const before = leadOf(payLinkFor(leadId, settings, NOW).url);
		expect(openLink({ lead: before }, rotated, NOW + DAY)).toMatchObject({ ok: true, leadId });
		expect(openLink({ lead: before }, rotated, NOW + 7 * DAY)).toEqual({
			ok: false,
			reason: 'expired',
		});
		const after = leadOf(payLinkFor(leadId, rotated, NOW).url);
		expect(after.split('.')[2]).not.toBe(before.split('.')[2]);
		expect(openLink({ lead: after }, rotated, NOW)).toMatchObject({ ok: true });
		// Once the previous secret is removed, its links open nothing.
		expect(openLink({ lead: before }, rotated.secret, NOW + DAY)).toEqual({
			ok: false,
			reason: 'forged',
		});
	});

	it('still opens a link signed before links carried a key id (three parts) with either secret', () => {
		const expiry = NOW + DAY;
		const legacyMac = createHmac('sha256', old)
			.update(`checkout-pay-link|${leadId}|${expiry}`)
			.digest('base64url')
			.slice(0, 32);
		const legacy = `${leadId}.${expiry.toString(36)}.${legacyMac}`;
		expect(openLink({ lead: legacy }, rotated, NOW)).toMatchObject({ ok: true, leadId });
		expect(openLink({ lead: legacy }, rotated.secret, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
	});
});

describe('report links', () => {
	const query = (url: string) => Object.fromEntries(new URL(url).searchParams);

	it('open the report page until they expire, from a bookmark (no header), and carry no key', () => {
		const link = reportLinkFor(settings, NOW);
		expect(link.url.startsWith('https://n8n.example.com/webhook/checkout/report?')).toBe(true);
		expect(link.url).not.toContain(settings.secret);
		expect(link.expiresAt).toBe(new Date(NOW + 30 * DAY).toISOString());
		expect(openReportLink(query(link.url), settings, NOW + 30 * DAY - 1)).toEqual({
			ok: true,
			expiresAtMs: NOW + 30 * DAY,
		});
		expect(openReportLink(query(link.url), settings, NOW + 30 * DAY)).toEqual({
			ok: false,
			reason: 'expired',
		});
	});

	it('cannot be extended, forged, or opened without a link; survive a rotation', () => {
		const q = query(reportLinkFor(settings, NOW).url);
		const later = (NOW + 365 * DAY).toString(36);
		expect(openReportLink({ ...q, until: later }, settings, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(openReportLink({ ...q, sig: 'A'.repeat(32) }, settings, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(openReportLink({}, settings, NOW)).toEqual({ ok: false, reason: 'missing' });
		expect(openReportLink({ until: ['x'], key: 1 }, settings, NOW)).toEqual({
			ok: false,
			reason: 'missing',
		});
		// Other query parameters (the period) change nothing.
		expect(openReportLink({ ...q, period: 'last30Days' }, settings, NOW)).toMatchObject({
			ok: true,
		});
		const rotated = checkLinkSettings({
			secret: 'the-new-secret-after-rotation-0123456789',
			previousSecret: settings.secret,
			payUrl: settings.payUrl,
		});
		expect(openReportLink(q, rotated, NOW)).toMatchObject({ ok: true });
		expect(openReportLink(q, { secret: rotated.secret }, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
	});
});
