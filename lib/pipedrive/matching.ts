/**
 * Which of a person's deals a new lead belongs to. Pure, so the rule is tested on its own.
 *
 * A buyer who submits a checkout form twice gets one deal, even when the two posts have different lead
 * ids (a plain HTML form gives each post a new, unguessable id; an Elementor post from a new page visit
 * has a new checkout token, so a new id too). So a lead goes to:
 *   1. the deal that already carries its lead id (a redelivery, a replay), or carries it as the buyer's
 *      other submission ('earlierLead': the field "Checkout earlier lead id"), else
 *   2. the person's open checkout deal of this pack, not paid, for the same product, whose checkout moved
 *      within the reuse window of this lead's capture (a second submit): the deal keeps its first lead,
 *      link and value (knowing an e-mail must not let a stranger replace them) and records the new lead
 *      id as its other submission, so the buyer's payment through either link wins it;
 *   3. the person's checkout deal of this pack for the same product that was paid after this lead was
 *      captured, within the window: a submit made before the buyer paid through another of their links,
 *      whose message reached Pipedrive after the payment (leads go in partitions of their own, so a
 *      sibling's payment can overtake it; or it was redelivered after a restart). It is that checkout's,
 *      not a new purchase: a new deal would wait open for follow-ups the buyer, who paid, must not get;
 *   4. otherwise none: a new deal (another product, a purchase after the payment).
 */
import { readCheckoutState, textField, type FieldKeys } from './fields';

export interface PersonDeal {
	id: number;
	status: string;
	custom_fields?: Record<string, unknown>;
}

export interface LeadToMatch {
	leadId: string;
	product?: string;
	/** ISO time of the capture; the reuse window counts back from it. */
	capturedAt?: string;
}

export interface DealMatch {
	dealId: number;
	/**
	 * 'sameLead': the deal of this lead id; 'earlierLead': the deal that recorded this lead as the buyer's
	 * other submission; 'resubmission': another open, unpaid checkout of this buyer; 'paidAfter': the
	 * checkout the buyer paid after this lead was captured (rule 3).
	 */
	by: 'sameLead' | 'earlierLead' | 'resubmission' | 'paidAfter';
}

const sameText = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

export function matchLeadDeal(
	deals: PersonDeal[],
	fields: FieldKeys,
	lead: LeadToMatch,
	reuseWithinMs: number,
	now = Date.now(),
): DealMatch | undefined {
	const live = deals.filter((d) => d.status !== 'deleted');
	const own = live.find((d) => textField(d.custom_fields, fields.keys.leadId) === lead.leadId);
	if (own) return { dealId: own.id, by: 'sameLead' };
	const earlier = live.find(
		(d) => textField(d.custom_fields, fields.keys.earlierLeadId) === lead.leadId,
	);
	if (earlier) return { dealId: earlier.id, by: 'earlierLead' };
	if (!(reuseWithinMs > 0)) return undefined;

	const capturedAt = Date.parse(lead.capturedAt ?? '');
	const at = Number.isNaN(capturedAt) ? now : capturedAt;
	let open: { id: number; movedAt: number } | undefined;
	let paid: { id: number; movedAt: number } | undefined;
	for (const deal of live) {
		if (!textField(deal.custom_fields, fields.keys.leadId)) continue; // not a checkout of this pack
		const state = readCheckoutState(deal.custom_fields, fields);
		if (!state) continue;
		const product = textField(deal.custom_fields, fields.keys.product);
		if (product && lead.product && !sameText(product, lead.product)) continue;
		const movedAt = Date.parse(state.lastEventAt);
		if (Number.isNaN(movedAt) || Math.abs(at - movedAt) > reuseWithinMs) continue;
		if (state.status === 'paid') {
			// Only a lead known to be captured before the payment: without a capture time it may be a new purchase.
			if (deal.status !== 'won' || Number.isNaN(capturedAt) || capturedAt > movedAt) continue;
			if (!paid || movedAt < paid.movedAt) paid = { id: deal.id, movedAt };
		} else if (deal.status === 'open') {
			if (!open || movedAt > open.movedAt) open = { id: deal.id, movedAt };
		}
	}
	if (open) return { dealId: open.id, by: 'resubmission' };
	return paid ? { dealId: paid.id, by: 'paidAfter' } : undefined;
}
