/**
 * The checkout state of one deal, moved by normalised payment events (a lead only starts it: Upsert Lead
 * writes `started` on the deal it creates). Pure: it says what to change, and Apply Checkout Event
 * (lib/pipedrive/operations/applyEvent.ts) does it. Decisions compare event times, never arrival order,
 * because the queue may redeliver and gateways send out of order:
 *  - an event older than the last one applied never moves the state back;
 *  - the same event twice changes nothing;
 *  - paid is final (only a refund, recorded as a note, comes after it);
 *  - a payment for less than the deal expects (or in another currency) is not a win: the deal goes to
 *    `underpaid` with a note for the salesperson; a later full payment still wins it.
 */
import type { EventType } from '../gateways/types';

export type CheckoutStatus =
	'started' | 'pending_payment' | 'paid' | 'failed' | 'expired' | 'underpaid';

export interface DealCheckoutState {
	status: CheckoutStatus;
	/** occurredAt of the last event that moved the state (ISO). */
	lastEventAt: string;
	/**
	 * Ids of applied events, so a redelivery is recognised: all of them, up to a size the deal field holds
	 * (APPLIED_IDS_MAX_CHARS); past it the oldest are dropped and `olderIdsDropped` says so.
	 */
	appliedEventIds: string[];
	/**
	 * Ids were dropped: an event not among them may still have been applied. The state machine needs no
	 * ids to be right (it compares event times); an effect that would double (a refund note) is looked for
	 * before it is made again.
	 */
	olderIdsDropped?: boolean;
}

export interface CheckoutEvent {
	eventId: string;
	/** lead.captured for a new lead; the gateway's normalised types otherwise. */
	type: EventType | 'lead.captured';
	occurredAt: string;
	/** What the gateway says was paid: minor units and ISO currency. */
	amount?: number;
	currency?: string;
}

/** What the deal expects to be paid (the catalog price the lead carried): minor units and ISO currency. */
export interface ExpectedPayment {
	amount: number;
	currency: string;
}

export type Effect =
	| { kind: 'setStatus'; status: CheckoutStatus }
	| { kind: 'markWon' }
	| { kind: 'completeFollowUps' }
	| { kind: 'addNote'; reason: 'refunded' }
	| {
			kind: 'addNote';
			reason: 'underpaid';
			paid: { amount?: number; currency?: string };
			expected: ExpectedPayment;
	  };

export interface Transition {
	next: DealCheckoutState;
	effects: Effect[];
	/** Why nothing changed, when nothing did. */
	ignored?:
		'duplicate' | 'older than the state' | 'after paid' | 'after a payment' | 'no state change';
}

/** What the deal's "Checkout events applied" field (a large text field) is given at most. */
export const APPLIED_IDS_MAX_CHARS = 30_000;

/** The newest ids whose list fits the budget, and whether older ones had to go. */
function keptIds(ids: string[]): { ids: string[]; dropped: boolean } {
	let chars = 0;
	let from = ids.length;
	while (from > 0 && chars + ids[from - 1].length + 1 <= APPLIED_IDS_MAX_CHARS)
		chars += ids[--from].length + 1;
	return { ids: ids.slice(from), dropped: from > 0 };
}

const TARGET: Partial<Record<CheckoutEvent['type'], CheckoutStatus>> = {
	'lead.captured': 'started',
	pending: 'pending_payment',
	paid: 'paid',
	failed: 'failed',
	expired: 'expired',
};

function remember(
	state: DealCheckoutState,
	event: CheckoutEvent,
	status: CheckoutStatus,
	moved: boolean,
): DealCheckoutState {
	const kept = keptIds([...state.appliedEventIds, event.eventId]);
	return {
		status,
		lastEventAt:
			moved && event.occurredAt > state.lastEventAt ? event.occurredAt : state.lastEventAt,
		appliedEventIds: kept.ids,
		...(kept.dropped || state.olderIdsDropped ? { olderIdsDropped: true } : {}),
	};
}

/** Why a paid event does not settle the deal: less money than expected, or another currency; undefined when it does. */
export function shortfall(
	event: Pick<CheckoutEvent, 'amount' | 'currency'>,
	expected: ExpectedPayment | undefined,
): 'amount' | 'currency' | undefined {
	// Nothing to compare with (a deal without a value, an event without an amount): the gateway's word stands.
	if (!expected || event.amount === undefined) return undefined;
	if (event.currency && event.currency.toUpperCase() !== expected.currency.toUpperCase())
		return 'currency';
	return event.amount < expected.amount ? 'amount' : undefined;
}

/** A transition that leaves the status as it is; the event is remembered, so a redelivery is a duplicate. */
function unchanged(
	state: DealCheckoutState,
	event: CheckoutEvent,
	ignored: NonNullable<Transition['ignored']>,
	{ effects = [], moved = false }: { effects?: Effect[]; moved?: boolean } = {},
): Transition {
	return { next: remember(state, event, state.status, moved), effects, ignored };
}

/** A paid event for less than the deal expects (or in another currency): underpaid, with a note. */
function underpaid(
	state: DealCheckoutState,
	event: CheckoutEvent,
	expected: ExpectedPayment,
): Transition {
	const note: Effect = {
		kind: 'addNote',
		reason: 'underpaid',
		paid: { amount: event.amount, currency: event.currency },
		expected,
	};
	if (state.status === 'underpaid')
		return unchanged(state, event, 'no state change', { effects: [note] });
	const target = 'underpaid';
	return {
		next: remember(state, event, target, true),
		effects: [{ kind: 'setStatus', status: target }, note],
	};
}

/**
 * An event that names a status, on a deal that is not paid and not short-paid by it: the move, unless the
 * event is older than the state or changes nothing. `hadState`: the deal had a state before this event.
 */
function moveTo(
	state: DealCheckoutState,
	event: CheckoutEvent,
	target: CheckoutStatus,
	hadState: boolean,
): Transition {
	// Money arrived, if short: a failed card, an expiry or a form sent again does not move it back.
	if (state.status === 'underpaid' && target !== 'paid')
		return unchanged(state, event, 'after a payment');
	// A payment beats everything before it, even an "expired" that arrived with a later timestamp: money
	// received is a fact; a lead capture never moves a deal that is already further along.
	if (target !== 'paid' && hadState && event.occurredAt < state.lastEventAt)
		return unchanged(state, event, 'older than the state');
	if (target === 'started' && hadState) return unchanged(state, event, 'no state change');
	if (target === state.status && hadState)
		return unchanged(state, event, 'no state change', { moved: true });

	const effects: Effect[] = [{ kind: 'setStatus', status: target }];
	if (target === 'paid') effects.push({ kind: 'markWon' }, { kind: 'completeFollowUps' });
	return { next: remember(state, event, target, true), effects };
}

export function applyCheckoutEvent(
	current: DealCheckoutState | undefined,
	event: CheckoutEvent,
	expected?: ExpectedPayment,
): Transition {
	const state: DealCheckoutState = current ?? {
		status: 'started',
		lastEventAt: '',
		appliedEventIds: [],
	};
	if (state.appliedEventIds.includes(event.eventId))
		return { next: state, effects: [], ignored: 'duplicate' };

	if (event.type === 'refunded') {
		return {
			next: remember(state, event, state.status, false),
			effects: [{ kind: 'addNote', reason: 'refunded' }],
		};
	}
	const target = TARGET[event.type];
	if (!target) return unchanged(state, event, 'no state change');
	if (state.status === 'paid') return unchanged(state, event, 'after paid');
	if (target === 'paid' && shortfall(event, expected)) return underpaid(state, event, expected!);
	return moveTo(state, event, target, current !== undefined);
}
