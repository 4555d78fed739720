/**
 * Which of a person's deals a new lead goes to: its own deal, the open checkout it resubmits, or none.
 */
import type { CheckoutStatus } from '../../lib/checkout/state';
import {
	fieldKeysOf,
	resolveFields,
	writeCheckoutState,
	CHECKOUT_FIELDS,
} from '../../lib/pipedrive/fields';
import { matchLeadDeal, type PersonDeal } from '../../lib/pipedrive/matching';

let optionId = 100;
const fields = fieldKeysOf(
	resolveFields(
		CHECKOUT_FIELDS.map((f) => ({
			field_name: f.name,
			field_code: `k${f.id}`,
			field_type: f.type,
			options: f.options?.map((label) => ({ id: optionId++, label })) ?? null,
		})),
	).found,
);
const HOUR = 3_600_000;

function deal(
	id: number,
	leadId: string | undefined,
	status: CheckoutStatus | undefined,
	lastEventAt: string,
	extra: Partial<PersonDeal> & { product?: string } = {},
): PersonDeal {
	const { product, ...rest } = extra;
	return {
		id,
		status: 'open',
		custom_fields: {
			...(leadId ? { [fields.keys.leadId]: leadId } : {}),
			...(product ? { [fields.keys.product]: product } : {}),
			...(status ? writeCheckoutState({ status, lastEventAt, appliedEventIds: [] }, fields) : {}),
		},
		...rest,
	};
}

const lead = {
	leadId: 'lead-2',
	product: 'Curso de Fotografia',
	capturedAt: '2026-11-27T12:30:00Z',
};

describe('matching a lead to the deals of its person', () => {
	it('takes the deal that carries the lead id, whatever its state', () => {
		const deals = [
			deal(1, 'lead-1', 'started', '2026-11-27T12:00:00Z'),
			deal(2, 'lead-2', 'paid', '2026-11-27T12:10:00Z', { status: 'won' }),
		];
		expect(matchLeadDeal(deals, fields, lead, 24 * HOUR)).toEqual({ dealId: 2, by: 'sameLead' });
	});

	it('a second submit with a new lead id goes to the open, unpaid checkout of the same product (the most recent one)', () => {
		const deals = [
			deal(1, 'lead-0', 'started', '2026-11-27T08:00:00Z', { product: 'curso de fotografia ' }),
			deal(2, 'lead-1', 'failed', '2026-11-27T12:05:00Z', { product: 'Curso de Fotografia' }),
		];
		expect(matchLeadDeal(deals, fields, lead, 24 * HOUR)).toEqual({
			dealId: 2,
			by: 'resubmission',
		});
		for (const status of ['started', 'pending_payment', 'expired'] as const) {
			expect(
				matchLeadDeal([deal(3, 'lead-1', status, '2026-11-27T12:05:00Z')], fields, lead, HOUR),
			).toEqual({ dealId: 3, by: 'resubmission' });
		}
	});

	it('never reuses a paid, won, lost or foreign deal, another product, or one outside the window; 0 turns reuse off', () => {
		const at = '2026-11-27T12:00:00Z';
		const none = [
			deal(1, 'lead-1', 'paid', at),
			deal(2, 'lead-1', 'started', at, { status: 'won' }),
			deal(3, 'lead-1', 'started', at, { status: 'lost' }),
			deal(4, undefined, undefined, at), // a deal a salesperson made by hand
			deal(5, 'lead-1', 'started', at, { product: 'Curso de Vídeo' }),
			deal(6, 'lead-1', 'started', '2026-11-26T11:00:00Z'),
			deal(7, 'lead-1', 'started', at, { status: 'deleted' }),
		];
		expect(matchLeadDeal(none, fields, lead, 24 * HOUR)).toBeUndefined();
		expect(matchLeadDeal([deal(8, 'lead-1', 'started', at)], fields, lead, 0)).toBeUndefined();
		expect(matchLeadDeal([deal(8, 'lead-1', 'started', at)], fields, lead, 24 * HOUR)).toEqual({
			dealId: 8,
			by: 'resubmission',
		});
	});

	it('a lead captured before the buyer paid through another of their links goes to that paid checkout; one captured after it, or without a capture time, is a new purchase', () => {
		const paidAt = '2026-11-27T12:40:00Z'; // lead-2 was captured at 12:30
		const won = (id: number, at = paidAt, extra: Partial<PersonDeal> & { product?: string } = {}) =>
			deal(id, `paid-${id}`, 'paid', at, { status: 'won', ...extra });
		expect(matchLeadDeal([won(1)], fields, lead, 24 * HOUR)).toEqual({
			dealId: 1,
			by: 'paidAfter',
		});
		// the earliest payment after the capture; an open checkout of the buyer comes first
		expect(
			matchLeadDeal([won(2, '2026-11-27T13:00:00Z'), won(3)], fields, lead, 24 * HOUR),
		).toEqual({ dealId: 3, by: 'paidAfter' });
		expect(
			matchLeadDeal(
				[won(4), deal(5, 'other-5', 'failed', '2026-11-27T12:20:00Z')],
				fields,
				lead,
				24 * HOUR,
			),
		).toEqual({ dealId: 5, by: 'resubmission' });
		for (const none of [
			[won(6, '2026-11-27T12:29:59Z')], // paid before the capture: a later purchase
			[won(7, paidAt, { product: 'Curso de Vídeo' })],
			[won(8, '2026-11-29T12:40:00Z')], // outside the window
			[deal(9, 'other-9', 'paid', paidAt, { status: 'lost' })],
		])
			expect(matchLeadDeal(none, fields, lead, 24 * HOUR)).toBeUndefined();
		expect(
			matchLeadDeal([won(10)], fields, { leadId: 'lead-2' }, 24 * HOUR, Date.parse(paidAt)),
		).toBeUndefined();
		expect(matchLeadDeal([won(11)], fields, lead, 0)).toBeUndefined();
	});

	it('a lead or deal without a product matches on the person alone; a lead without a capture time counts from now', () => {
		const deals = [deal(1, 'lead-1', 'pending_payment', '2026-11-27T12:00:00Z')];
		expect(
			matchLeadDeal(
				deals,
				fields,
				{ leadId: 'lead-2', product: 'Curso de Fotografia' },
				HOUR,
				Date.parse('2026-11-27T12:20:00Z'),
			),
		).toEqual({ dealId: 1, by: 'resubmission' });
		expect(
			matchLeadDeal(deals, fields, { leadId: 'lead-2' }, HOUR, Date.parse('2026-11-27T14:00:00Z')),
		).toBeUndefined();
	});
});

it('finds the deal a second submit took over for the replaced lead (its earlier lead id), and says so', () => {
	const keys = {
		keys: {
			leadId: 'kLead',
			earlierLeadId: 'kEarlier',
			status: 'kStatus',
			product: 'kProduct',
			lastEventAt: 'kLast',
		},
		statusOptions: { started: 1, pending_payment: 2, paid: 3, failed: 4, expired: 5, underpaid: 6 },
	} as unknown as Parameters<typeof matchLeadDeal>[1];
	const deals = [
		{
			id: 7,
			status: 'open',
			custom_fields: {
				kLead: 'lead-2',
				kEarlier: 'lead-1',
				kStatus: 1,
				kLast: '2026-11-27T12:10:00Z',
			},
		},
	];
	expect(matchLeadDeal(deals, keys, { leadId: 'lead-1' }, 0)).toEqual({
		dealId: 7,
		by: 'earlierLead',
	});
	expect(matchLeadDeal(deals, keys, { leadId: 'lead-2' }, 0)).toEqual({
		dealId: 7,
		by: 'sameLead',
	});
	expect(matchLeadDeal(deals, keys, { leadId: 'lead-3' }, 0)).toBeUndefined();
});
