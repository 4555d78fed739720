/**
 * How the pack keeps a deal's checkout state in Pipedrive custom fields, and how the editor's rules table
 * becomes rule-engine rules.
 */
import {
	CHECKOUT_FIELDS,
	checkRuleName,
	fieldKeysOf,
	formatFollowUps,
	parseFollowUps,
	readCheckoutState,
	resolveFields,
	writeCheckoutState,
	type ExistingField,
} from '../../lib/pipedrive/fields';
import { baseUrlOf } from '../../nodes/PipedriveFollowUp/transport';
import { rulesFromTable } from '../../lib/checkout/ruleTable';

function account(): ExistingField[] {
	let id = 10;
	return [
		{ field_name: 'Title', field_code: 'title', field_type: 'varchar' },
		...CHECKOUT_FIELDS.map((f) => ({
			field_name: f.name.toUpperCase(), // names match case-insensitively
			field_code: `k${f.id}`,
			field_type: f.type,
			options: f.options?.map((label) => ({ id: id++, label })) ?? null,
		})),
	];
}

describe('deal fields', () => {
	it('finds every field by name and maps statuses to option ids', () => {
		const resolution = resolveFields(account());
		expect(resolution.missing).toEqual([]);
		expect(resolution.conflicts).toEqual([]);
		const fields = fieldKeysOf(resolution.found);
		expect(fields.keys.status).toBe('kstatus');
		expect(fields.statusOptions).toEqual({
			started: 10,
			pending_payment: 11,
			paid: 12,
			failed: 13,
			expired: 14,
			underpaid: 15,
		});
	});

	it('lists missing fields and the options a status field lacks (Setup adds them), and refuses a field of the wrong type', () => {
		const some = account().filter((f) => f.field_code !== 'kleadId');
		expect(resolveFields(some).missing.map((f) => f.id)).toEqual(['leadId']);
		const wrongType = account().map((f) =>
			f.field_code === 'kgateway' ? { ...f, field_type: 'double' } : f,
		);
		expect(resolveFields(wrongType).conflicts).toEqual([
			'"Checkout gateway" is a double field; the pack needs a text field',
		]);
		const lacking = account().map((f) =>
			f.field_code === 'kstatus'
				? { ...f, options: f.options!.filter((o) => o.label !== 'Expired') }
				: f,
		);
		// A status field made by an older version of the pack, without "Underpaid" (and here "Expired").
		expect(resolveFields(lacking).conflicts).toEqual([]);
		const older = account().map((f) =>
			f.field_code === 'kstatus'
				? { ...f, options: f.options!.filter((o) => !['Expired', 'Underpaid'].includes(o.label)) }
				: f,
		);
		expect(resolveFields(older).missingOptions).toEqual([
			{ id: 'status', fieldCode: 'kstatus', labels: ['Expired', 'Underpaid'] },
		]);
	});

	it('writes and reads back the checkout state; an empty status means no state yet', () => {
		const fields = fieldKeysOf(resolveFields(account()).found);
		const state = {
			status: 'failed' as const,
			lastEventAt: '2026-11-27T12:20:00Z',
			appliedEventIds: ['stripe:evt_1', 'mercadopago:9:rejected'],
		};
		const written = writeCheckoutState(state, fields);
		expect(written).toEqual({
			kstatus: 13,
			klastEventAt: '2026-11-27T12:20:00Z',
			keventIds: 'stripe:evt_1 mercadopago:9:rejected',
		});
		expect(readCheckoutState(written, fields)).toEqual(state);
		// v2 may return a single option as {id, label}
		expect(
			readCheckoutState({ ...written, kstatus: { id: 13, label: 'Failed' } }, fields)?.status,
		).toBe('failed');
		expect(readCheckoutState({ kstatus: null }, fields)).toBeUndefined();
		expect(readCheckoutState(undefined, fields)).toBeUndefined();
	});

	it('keeps the follow-ups applied readable: "rule#activity; rule"', () => {
		const applied = [
			{ rule: 'Abandoned after 1 hour', activityId: 321 },
			{ rule: 'Payment failed' },
		];
		expect(formatFollowUps(applied)).toBe('Abandoned after 1 hour#321; Payment failed');
		expect(parseFollowUps('Abandoned after 1 hour#321; Payment failed')).toEqual(applied);
		expect(parseFollowUps(null)).toEqual([]);
		expect(() => checkRuleName('A; B')).toThrow(/separators/);
		expect(() => checkRuleName(' ')).toThrow(/needs a name/);
	});
});

describe('rules table of the editor', () => {
	const row = {
		name: 'Abandoned',
		when: 'abandoned',
		after: 2,
		afterUnit: 'hours',
		activityType: 'call',
		subject: 'Call {{name}}',
		note: '',
		dueInDays: 1,
		dueTime: '10:00',
		owner: 'dealOwner',
		useBusinessHours: true,
		timeZone: 'America/Sao_Paulo',
		days: [1, 2, 3, 4, 5],
		opens: '09:00',
		closes: '18:00',
	};

	it('turns a row into a rule (units into minutes, business hours, owner choice)', () => {
		expect(rulesFromTable([row])).toEqual([
			{
				name: 'Abandoned',
				when: 'abandoned',
				afterMinutes: 120,
				activityType: 'call',
				subject: 'Call {{name}}',
				note: undefined,
				dueInDays: 1,
				dueTime: '10:00',
				owner: { kind: 'dealOwner' },
				businessHours: {
					timeZone: 'America/Sao_Paulo',
					days: [1, 2, 3, 4, 5],
					opens: '09:00',
					closes: '18:00',
				},
			},
		]);
		const [rr] = rulesFromTable([
			{
				...row,
				after: 3,
				afterUnit: 'days',
				owner: 'roundRobin',
				roundRobinUserIds: ['2', '3'],
				useBusinessHours: false,
			},
		]);
		expect(rr).toMatchObject({
			afterMinutes: 3 * 1440,
			owner: { kind: 'roundRobin', userIds: [2, 3] },
			businessHours: undefined,
		});
	});

	it('names the rule that cannot work', () => {
		expect(() => rulesFromTable([row, { ...row }])).toThrow('Two rules are named "Abandoned"');
		expect(() => rulesFromTable([{ ...row, name: '' }])).toThrow('Rule 1 has no name');
		expect(() => rulesFromTable([{ ...row, owner: 'user', userId: '' }])).toThrow(
			'Rule "Abandoned" assigns a chosen user, but no user is chosen',
		);
		expect(() => rulesFromTable([{ ...row, owner: 'roundRobin', roundRobinUserIds: [] }])).toThrow(
			/round robin, but lists no users/,
		);
		expect(() => rulesFromTable([{ ...row, days: [] }])).toThrow(/without open days/);
	});
});

describe('base URL of a credential', () => {
	it('prefers an explicit base URL, then the OAuth api_domain, then the company domain, then the generic host', () => {
		expect(baseUrlOf({ baseUrl: 'http://127.0.0.1:9/', companyDomain: 'shop' })).toBe(
			'http://127.0.0.1:9',
		);
		expect(baseUrlOf({ oauthTokenData: { api_domain: 'https://shop-oauth.pipedrive.com' } })).toBe(
			'https://shop-oauth.pipedrive.com',
		);
		expect(baseUrlOf({ companyDomain: 'shop' })).toBe('https://shop.pipedrive.com');
		expect(baseUrlOf({})).toBe('https://api.pipedrive.com');
	});
});
