import {
	checkLinkSettings,
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
	secret: 'test-secret-0123456789',
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
		const [id, expiry, mac] = token.split('.');
		expect(mac.length * 6).toBeGreaterThanOrEqual(122);
		const later = (NOW + 365 * DAY).toString(36);
		expect(openLink({ lead: `${id}.${later}.${mac}` }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(openLink({ lead: `${uuidv7(NOW + 1)}.${expiry}.${mac}` }, settings.secret, NOW)).toEqual(
			{ ok: false, reason: 'forged' },
		);
		expect(openLink({ lead: `${id}.${expiry}.${'A'.repeat(32)}` }, settings.secret, NOW)).toEqual({
			ok: false,
			reason: 'forged',
		});
		expect(openLink({ lead: token }, 'another-secret-0123456789', NOW)).toEqual({
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

it('refuses a weak secret or a pay URL that is not http(s)', () => {
	expect(() => checkLinkSettings({ secret: 'short', payUrl: 'https://x.example/pay' })).toThrow(
		/16 characters/,
	);
	expect(() =>
		checkLinkSettings({ secret: 'long-enough-secret-123', payUrl: 'javascript:alert(1)' }),
	).toThrow(/not an http/);
	expect(
		checkLinkSettings({ secret: 'long-enough-secret-123', payUrl: 'https://x.example/pay' })
			.validDays,
	).toBe(7);
});
