import {
	applyCheckoutEvent,
	APPLIED_IDS_MAX_CHARS,
	type CheckoutEvent,
	type DealCheckoutState,
} from '../../lib/checkout/state';

const ev = (eventId: string, type: CheckoutEvent['type'], minute: number): CheckoutEvent => ({
	eventId,
	type,
	occurredAt: new Date(Date.UTC(2026, 10, 27, 10, minute)).toISOString(),
});

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
		expect(r.effects).toEqual([
			'status:started',
			'status:pending_payment',
			'status:paid',
			'markWon',
			'completeFollowUps',
		]);
	});

	it('never moves back on an older event, whatever the arrival order', () => {
		const inOrder = run([
			ev('lead', 'lead.captured', 0),
			ev('f', 'failed', 5),
			ev('pe', 'pending', 3),
		]);
		expect(inOrder.state?.status).toBe('failed');
		const shuffled = run([
			ev('pe', 'pending', 3),
			ev('f', 'failed', 5),
			ev('lead', 'lead.captured', 0),
		]);
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

	it('remembers every event id up to what the deal field holds, then drops the oldest and says so', () => {
		let state: DealCheckoutState | undefined;
		for (let i = 0; i < 50; i++)
			state = applyCheckoutEvent(state, ev(`e${i}`, 'pending', i % 60)).next;
		expect(state!.appliedEventIds).toHaveLength(50);
		expect(state!.appliedEventIds.at(-1)).toBe('e49');
		expect(state!.olderIdsDropped).toBeUndefined();
		// Long ids (a gateway's 200-character ids): past the field's budget the oldest go, flagged.
		const long = (i: number) => `evt_${String(i).padStart(4, '0')}_${'x'.repeat(190)}`;
		for (let i = 0; i < 200; i++)
			state = applyCheckoutEvent(state, ev(long(i), 'pending', 59)).next;
		expect(state!.appliedEventIds.join(' ').length).toBeLessThanOrEqual(APPLIED_IDS_MAX_CHARS);
		expect(state!.appliedEventIds.at(-1)).toBe(long(199));
		expect(state!.appliedEventIds).not.toContain('e0');
		expect(state!.olderIdsDropped).toBe(true);
	});
});

describe('paid amounts against the expected price', () => {
	const expected = { amount: 19990, currency: 'BRL' };
	const paid = (
		id: string,
		amount: number | undefined,
		currency: string | undefined,
		minute: number,
	): CheckoutEvent => ({ ...ev(id, 'paid', minute), amount, currency });

	it('does not win a deal paid for less, or in another currency: underpaid, with a note naming both amounts', () => {
		const started = applyCheckoutEvent(undefined, ev('lead', 'lead.captured', 0)).next;
		const short = applyCheckoutEvent(started, paid('p1', 1, 'BRL', 1), expected);
		expect(short.next.status).toBe('underpaid');
		expect(short.effects).toEqual([
			{ kind: 'setStatus', status: 'underpaid' },
			{ kind: 'addNote', reason: 'underpaid', paid: { amount: 1, currency: 'BRL' }, expected },
		]);
		expect(applyCheckoutEvent(started, paid('p2', 19990, 'USD', 1), expected).next.status).toBe(
			'underpaid',
		);
		// A second short payment adds its own note; the state stays.
		expect(
			applyCheckoutEvent(short.next, paid('p3', 500, 'BRL', 2), expected).effects.map(
				(e) => e.kind,
			),
		).toEqual(['addNote']);
	});

	it('wins on the full amount (or more), also after an underpayment; a failure or expiry after money arrived changes nothing', () => {
		expect(
			applyCheckoutEvent(undefined, paid('ok', 19990, 'brl', 1), expected).effects.map(
				(e) => e.kind,
			),
		).toEqual(['setStatus', 'markWon', 'completeFollowUps']);
		expect(applyCheckoutEvent(undefined, paid('more', 25000, 'BRL', 1), expected).next.status).toBe(
			'paid',
		);
		const short = applyCheckoutEvent(undefined, paid('p1', 100, 'BRL', 1), expected).next;
		expect(applyCheckoutEvent(short, ev('late-expiry', 'expired', 9), expected)).toMatchObject({
			effects: [],
			ignored: 'after a payment',
		});
		expect(applyCheckoutEvent(short, paid('rest', 19990, 'BRL', 5), expected).next.status).toBe(
			'paid',
		);
	});

	it("takes the gateway's word when there is nothing to compare (no expected price, or no amount in the event)", () => {
		expect(applyCheckoutEvent(undefined, paid('a', 1, 'BRL', 1)).next.status).toBe('paid');
		expect(
			applyCheckoutEvent(undefined, paid('b', undefined, undefined, 1), expected).next.status,
		).toBe('paid');
	});
});
