/**
 * The checkout state of one deal, moved by leads and normalised payment events. Pure: it says what to
 * change; the Pipedrive node does it. Decisions compare event times, never arrival order, because the
 * queue may redeliver and gateways send out of order:
 *  - an event older than the last one applied never moves the state back;
 *  - the same event twice changes nothing;
 *  - paid is final (only a refund, recorded as a note, comes after it).
 */
import type { EventType } from '../gateways/types';

export type CheckoutStatus = 'started' | 'pending_payment' | 'paid' | 'failed' | 'expired';

export interface DealCheckoutState {
	status: CheckoutStatus;
	/** occurredAt of the last event that moved the state (ISO). */
	lastEventAt: string;
	/** Ids of recently applied events (bounded), so a redelivery is recognised. */
	appliedEventIds: string[];
}

export interface CheckoutEvent {
	eventId: string;
	/** lead.captured for a new lead; the gateway's normalised types otherwise. */
	type: EventType | 'lead.captured';
	occurredAt: string;
}

export type Effect =
	| { kind: 'setStatus'; status: CheckoutStatus }
	| { kind: 'markWon' }
	| { kind: 'completeFollowUps' }
	| { kind: 'addNote'; reason: 'refunded' };

export interface Transition {
	next: DealCheckoutState;
	effects: Effect[];
	/** Why nothing changed, when nothing did. */
	ignored?: 'duplicate' | 'older than the state' | 'after paid' | 'no state change';
}

const APPLIED_IDS_KEPT = 20;

const TARGET: Partial<Record<CheckoutEvent['type'], CheckoutStatus>> = {
	'lead.captured': 'started',
	pending: 'pending_payment',
	paid: 'paid',
	failed: 'failed',
	expired: 'expired',
};

function remember(state: DealCheckoutState, event: CheckoutEvent, status: CheckoutStatus, moved: boolean): DealCheckoutState {
	return {
		status,
		lastEventAt: moved && event.occurredAt > state.lastEventAt ? event.occurredAt : state.lastEventAt,
		appliedEventIds: [...state.appliedEventIds, event.eventId].slice(-APPLIED_IDS_KEPT),
	};
}

export function applyCheckoutEvent(current: DealCheckoutState | undefined, event: CheckoutEvent): Transition {
	const state: DealCheckoutState = current ?? { status: 'started', lastEventAt: '', appliedEventIds: [] };
	if (state.appliedEventIds.includes(event.eventId)) return { next: state, effects: [], ignored: 'duplicate' };

	if (event.type === 'refunded') {
		return { next: remember(state, event, state.status, false), effects: [{ kind: 'addNote', reason: 'refunded' }] };
	}
	const target = TARGET[event.type];
	if (!target) return { next: remember(state, event, state.status, false), effects: [], ignored: 'no state change' };
	if (state.status === 'paid') return { next: remember(state, event, state.status, false), effects: [], ignored: 'after paid' };
	// A payment beats everything before it, even an "expired" that arrived with a later timestamp: money
	// received is a fact; a lead capture never moves a deal that is already further along.
	if (target !== 'paid' && current && event.occurredAt < state.lastEventAt) {
		return { next: remember(state, event, state.status, false), effects: [], ignored: 'older than the state' };
	}
	if (target === 'started' && current) return { next: remember(state, event, state.status, false), effects: [], ignored: 'no state change' };
	if (target === state.status && current) return { next: remember(state, event, state.status, true), effects: [], ignored: 'no state change' };

	const effects: Effect[] = [{ kind: 'setStatus', status: target }];
	if (target === 'paid') effects.push({ kind: 'markWon' }, { kind: 'completeFollowUps' });
	return { next: remember(state, event, target, true), effects };
}
