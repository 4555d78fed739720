import { applyCheckoutEvent, type CheckoutEvent, type DealCheckoutState } from '../../lib/followup/state';

const ev = (eventId: string, type: CheckoutEvent['type'], minute: number): CheckoutEvent => ({ eventId, type, occurredAt: new Date(Date.UTC(2026, 10, 27, 10, minute)).toISOString() });

function run(events: CheckoutEvent[]): { state?: DealCheckoutState; effects: string[] } {
	let state: DealCheckoutState | undefined;
	const effects: string[] = [];
	for (const e of events) {
		const t = applyCheckoutEvent(state, e);
		state = t.next;
		effects.push(...t.effects.map((x) => (x.kind === 'setStatus' ? `status:${x.status}` : x.kind)));
	}
	return { state, effects };
}

describe('checkout state machine', () => {
	it('moves started → pending payment → paid, marking the deal won and follow-ups done', () => {
		const r = run([ev('lead', 'lead.captured', 0), ev('p1', 'pending', 1), ev('p2', 'paid', 2)]);
		expect(r.state?.status).toBe('paid');
		expect(r.effects).toEqual(['status:started', 'status:pending_payment', 'status:paid', 'markWon', 'completeFollowUps']);
	});

	it('never moves back on an older event, whatever the arrival order', () => {
		const inOrder = run([ev('lead', 'lead.captured', 0), ev('f', 'failed', 5), ev('pe', 'pending', 3)]);
		expect(inOrder.state?.status).toBe('failed');
		const shuffled = run([ev('pe', 'pending', 3), ev('f', 'failed', 5), ev('lead', 'lead.captured', 0)]);
		expect(shuffled.state?.status).toBe('failed');
	});

	it('changes nothing and creates nothing for the same event twice', () => {
		const once = applyCheckoutEvent(undefined, ev('x', 'expired', 5));
		const twice = applyCheckoutEvent(once.next, ev('x', 'expired', 5));
		expect(twice).toEqual({ next: once.next, effects: [], ignored: 'duplicate' });
	});

	it('keeps paid final; a later failure or expiry is ignored; a refund adds a note', () => {
		const r = run([ev('paid', 'paid', 5), ev('exp', 'expired', 9), ev('ref', 'refunded', 10)]);
		expect(r.state?.status).toBe('paid');
		expect(r.effects).toEqual(['status:paid', 'markWon', 'completeFollowUps', 'addNote']);
	});

	it('lets a payment win over an expiry stamped later (Pix paid as the session expired)', () => {
		expect(run([ev('exp', 'expired', 10), ev('paid', 'paid', 9)]).state?.status).toBe('paid');
	});

	it('creates the state from the first event for a lead whose deal did not exist yet', () => {
		const t = applyCheckoutEvent(undefined, ev('p', 'pending', 1));
		expect(t.next.status).toBe('pending_payment');
		expect(t.effects).toEqual([{ kind: 'setStatus', status: 'pending_payment' }]);
	});

	it('remembers a bounded number of event ids', () => {
		let state: DealCheckoutState | undefined;
		for (let i = 0; i < 50; i++) state = applyCheckoutEvent(state, ev(`e${i}`, 'pending', i % 60)).next;
		expect(state!.appliedEventIds).toHaveLength(20);
		expect(state!.appliedEventIds.at(-1)).toBe('e49');
	});
});
