import { DateTime } from 'luxon';

import {
	nextOpenSlot,
	planFollowUps,
	renderTemplate,
	type DealForRules,
	type FollowUpRule,
} from '../../lib/checkout/rules';

const SAO_PAULO = {
	timeZone: 'America/Sao_Paulo',
	days: [1, 2, 3, 4, 5],
	opens: '09:00',
	closes: '18:00',
};

const callRule: FollowUpRule = {
	name: 'Call abandoned',
	when: 'abandoned',
	afterMinutes: 60,
	activityType: 'call',
	subject: 'Call {{name}} about {{product}}',
	note: 'Pay here: {{paymentLink}} ({{amount}})',
	dueInDays: 0,
	dueTime: '10:00',
	owner: { kind: 'dealOwner' },
	businessHours: SAO_PAULO,
};

function deal(overrides: Partial<DealForRules> = {}): DealForRules {
	return {
		dealId: 1,
		status: 'started',
		statusSince: '2026-11-27T10:00:00.000Z',
		ownerId: 7,
		rulesApplied: [],
		fields: { name: 'Ana', product: 'Curso', amount: 'R$ 199,90', paymentLink: 'https://pay/x' },
		...overrides,
	};
}

describe('follow-up rules', () => {
	it("fires after the wait, with the templates filled and the due time in the shop's time zone", () => {
		// Friday 2026-11-27 12:00 UTC = 09:00 in São Paulo (UTC-3): 10:00 local today is open.
		const now = new Date('2026-11-27T12:00:00Z');
		expect(planFollowUps([callRule], [deal()], now)).toEqual([
			{
				dealId: 1,
				rule: 'Call abandoned',
				type: 'call',
				subject: 'Call Ana about Curso',
				note: 'Pay here: https://pay/x (R$ 199,90)',
				dueDate: '2026-11-27',
				dueTime: '13:00',
				ownerId: 7,
			},
		]);
		expect(planFollowUps([callRule], [deal()], new Date('2026-11-27T10:30:00Z'))).toEqual([]); // 30 min: too early
	});

	it('fires at most once per deal and never for a paid deal or another state', () => {
		const now = new Date('2026-11-27T12:00:00Z');
		expect(planFollowUps([callRule], [deal({ rulesApplied: ['Call abandoned'] })], now)).toEqual(
			[],
		);
		expect(planFollowUps([callRule], [deal({ status: 'paid' })], now)).toEqual([]);
		expect(planFollowUps([callRule], [deal({ status: 'failed' })], now)).toEqual([]);
		expect(
			planFollowUps([{ ...callRule, when: 'failed' }], [deal({ status: 'failed' })], now),
		).toHaveLength(1);
	});

	it('moves a due time outside business hours to the next open slot', () => {
		const zone = 'America/Sao_Paulo';
		const at = (iso: string) => nextOpenSlot(DateTime.fromISO(iso, { zone }), SAO_PAULO).toISO();
		expect(at('2026-11-27T20:00:00')).toBe('2026-11-30T09:00:00.000-03:00'); // Friday evening → Monday
		expect(at('2026-11-28T11:00:00')).toBe('2026-11-30T09:00:00.000-03:00'); // Saturday → Monday
		expect(at('2026-11-30T07:30:00')).toBe('2026-11-30T09:00:00.000-03:00'); // Monday early → opening
		expect(at('2026-11-30T14:15:00')).toBe('2026-11-30T14:15:00.000-03:00'); // open: unchanged
	});

	it('never makes an activity overdue when it is created: a due time already past moves to the next open slot', () => {
		// Friday 2026-11-27 21:40 in São Paulo (00:40 UTC on Saturday): "today at 09:00" is past and the
		// shop is closed until Monday 09:00 (12:00 UTC).
		const late = new Date('2026-11-28T00:40:00Z');
		const [withHours] = planFollowUps([{ ...callRule, dueTime: '09:00' }], [deal()], late);
		expect([withHours.dueDate, withHours.dueTime]).toEqual(['2026-11-30', '12:00']);
		// Without business hours: the next minute.
		const [anyTime] = planFollowUps(
			[{ ...callRule, dueTime: '09:00', businessHours: undefined }],
			[deal()],
			new Date('2026-11-27T21:40:30Z'),
		);
		expect([anyTime.dueDate, anyTime.dueTime]).toEqual(['2026-11-27', '21:41']);
		// A time still ahead today is kept.
		const [ahead] = planFollowUps(
			[{ ...callRule, dueTime: '23:00', businessHours: undefined }],
			[deal()],
			new Date('2026-11-27T21:40:30Z'),
		);
		expect([ahead.dueDate, ahead.dueTime]).toEqual(['2026-11-27', '23:00']);
	});

	it('honours daylight saving of other zones (New York, November)', () => {
		const ny = { ...SAO_PAULO, timeZone: 'America/New_York' };
		const rule = { ...callRule, businessHours: ny, dueInDays: 1 };
		// 2026-11-01 is the DST change in New York: 10:00 local on Monday 2 Nov is 15:00 UTC (EST, UTC-5).
		const [a] = planFollowUps(
			[rule],
			[deal({ statusSince: '2026-10-31T10:00:00Z' })],
			new Date('2026-11-01T16:00:00Z'),
		);
		expect([a.dueDate, a.dueTime]).toEqual(['2026-11-02', '15:00']);
	});

	it('assigns round robin across deals and a fixed user when asked', () => {
		const now = new Date('2026-11-27T12:00:00Z');
		const rr = planFollowUps(
			[{ ...callRule, owner: { kind: 'roundRobin', userIds: [1, 2] } }],
			[deal({ dealId: 1 }), deal({ dealId: 2 }), deal({ dealId: 3 })],
			now,
		);
		expect(rr.map((a) => a.ownerId)).toEqual([1, 2, 1]);
		expect(
			planFollowUps([{ ...callRule, owner: { kind: 'user', userId: 42 } }], [deal()], now)[0]
				.ownerId,
		).toBe(42);
	});

	it('leaves unknown template fields empty and rejects bad clock times', () => {
		expect(renderTemplate('Hi {{ name }} {{nope}}!', { name: 'Ana' }, 'text')).toBe('Hi Ana !');
		// The buyer's input is encoded for where it lands: HTML in a note, plain text in a subject.
		const hostile = { name: '<img src=x onerror=alert(1)> "Ana" & Co\n<b>' };
		expect(renderTemplate('<p>Call {{name}}</p>', hostile, 'html')).toBe(
			'<p>Call &lt;img src=x onerror=alert(1)&gt; &quot;Ana&quot; &amp; Co\n&lt;b&gt;</p>',
		);
		expect(renderTemplate('Call {{name}}', hostile, 'text')).toBe(
			'Call img src=x onerror=alert(1) "Ana" & Co b',
		);
		expect(() =>
			planFollowUps(
				[{ ...callRule, dueTime: '25:00' }],
				[deal()],
				new Date('2026-11-27T12:00:00Z'),
			),
		).toThrow(/HH:MM/);
	});
});
