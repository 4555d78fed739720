/** Apply Checkout Event: a payment event moves its lead's deal through the checkout state machine (won on payment, never backwards). */
import { applyCheckoutEvent, type CheckoutEvent, type ExpectedPayment } from '../../checkout/state';
import { escapeHtml } from '../../html/escape';
import { toMajorUnits, toMinorUnits } from '../../gateways/money';
import type { Deal, PipedriveClient } from '../client';
import { parseFollowUps, readCheckoutState, writeCheckoutState, type FieldKeys } from '../fields';
import { effectMarker, hasMarker } from '../markers';
import type { HeldRecord } from '../../shared/record';
import { processLocalShared, type LeadRecord, type PipedriveShared } from '../shared';
import { addNoteOnce } from './notes';
import { checkoutFields } from './setup';
import { dealTitle } from './upsertLead';

export interface CheckoutEventInput extends CheckoutEvent {
	leadRef?: string;
	provider?: string;
	amount?: number;
	currency?: string;
	/** Present while the event is only a claim the gateway's record must back (lib/gateways/types.ts). */
	confirm?: unknown;
}

export interface ApplyEventResult {
	dealId?: number;
	dealCreated: boolean;
	status?: string;
	previousStatus?: string;
	ignored?: string;
	effects: string[];
	followUpsCompleted: number;
}

/** The deal's value is what the lead's catalog price set (or what a salesperson changed it to): what a payment must reach. */
function expectedPaymentOf(deal: Deal): ExpectedPayment | undefined {
	if (typeof deal.value !== 'number' || !(deal.value > 0) || !deal.currency) return undefined;
	return { amount: toMinorUnits(deal.value), currency: deal.currency };
}

function moneyText(cents: number, currency: string | undefined): string {
	return escapeHtml(`${toMajorUnits(cents).toFixed(2)} ${currency ?? ''}`.trimEnd());
}

/**
 * The deal of a lead by its id, searched after a create that may have been sent (`sentAt`) for as long as
 * Pipedrive's search may lag behind it (a deal without a person has no listing to look in).
 */
async function searchLeadDeal(
	client: PipedriveClient,
	leadRef: string,
	sentAt: number | undefined,
	settleMs: number,
): Promise<Deal | undefined> {
	for (;;) {
		const id = await client.findDealByCustomField(leadRef);
		if (id !== undefined) return await client.getDeal(id);
		const left = sentAt === undefined ? 0 : sentAt + settleMs - Date.now();
		if (left <= 0) return undefined;
		await new Promise((resolve) => setTimeout(resolve, Math.min(left, 1000)));
	}
}

/** The lead's deal: the one the lead → deal map names (no search), else the one a search finds. */
async function findLeadDeal(
	client: PipedriveClient,
	record: HeldRecord<LeadRecord>,
	leadRef: string,
	settleMs: number,
): Promise<Deal | undefined> {
	const known = record.data?.dealId;
	if (known !== undefined) {
		const deal = await client.getDeal(known);
		if (deal && deal.status !== 'deleted') return deal;
	}
	const deal = await searchLeadDeal(client, leadRef, record.data?.creatingDealAt, settleMs);
	if (deal && deal.id !== known) await record.save({ dealId: deal.id });
	return deal;
}

/** The notes a transition asks for (a refund, an underpaid payment), each made once (by its marker). */
async function addEffectNotes(
	client: PipedriveClient,
	dealId: number,
	event: CheckoutEventInput,
	transition: ReturnType<typeof applyCheckoutEvent>,
	/** Look for the note before writing it: the deal may have had it from an earlier handling. */
	lookFirst: boolean,
): Promise<void> {
	for (const effect of transition.effects) {
		if (effect.kind !== 'addNote') continue;
		const source = `${escapeHtml(event.provider ?? 'gateway')}, event ${escapeHtml(event.eventId)}, ${escapeHtml(event.occurredAt)}`;
		const content =
			effect.reason === 'refunded'
				? `<p>Payment refunded${event.amount !== undefined ? ` ${moneyText(event.amount, event.currency)}` : ''} (${source})</p>`
				: `<p><b>Payment below the expected amount</b>: ${moneyText(effect.paid.amount ?? 0, effect.paid.currency)} paid, ${moneyText(effect.expected.amount, effect.expected.currency)} expected (${source}). The deal stays open with Checkout status "Underpaid": check with the buyer before delivering.</p>`;
		await addNoteOnce(
			client,
			dealId,
			content,
			effectMarker(effect.reason, dealId, event.eventId),
			undefined,
			lookFirst,
		);
	}
}

export async function applyEvent(
	client: PipedriveClient,
	account: string,
	event: CheckoutEventInput,
	options: {
		titleTemplate?: string;
		/** The state every n8n process shares (lib/pipedrive/shared.ts); this process's own by default. */
		shared?: PipedriveShared;
	} = {},
): Promise<ApplyEventResult> {
	if (!event.eventId || !event.type || !event.occurredAt)
		throw new Error(
			'The event needs eventId, type and occurredAt (the normalised event of the Payment Gateway node)',
		);
	if (Number.isNaN(Date.parse(event.occurredAt)))
		throw new Error(`The event's occurredAt "${event.occurredAt}" is not a date`);
	// A claim (a Mercado Pago notification, an Asaas event) moves no deal: failing here, not ignoring,
	// keeps the message for a workflow that was wired without the Payment Gateway's Confirm Event.
	if (event.confirm)
		throw new Error(
			`Event ${event.eventId} is not confirmed with ${event.provider ?? 'the gateway'} yet: put Payment Gateway → Confirm Event before Apply Checkout Event`,
		);
	if (!event.leadRef)
		return {
			dealCreated: false,
			ignored: 'no lead reference (not a checkout of this pack)',
			effects: [],
			followUpsCompleted: 0,
		};
	const shared = options.shared ?? processLocalShared(account);
	const fields = await checkoutFields(client, account, shared);
	const leadRef = event.leadRef;
	// The lead held while its deal is read and written: no other process applies an event of it meanwhile.
	return await shared.withLead(
		leadRef,
		async (record) =>
			await applyHeldEvent(client, event, leadRef, fields, record, shared, options.titleTemplate),
	);
}

/** What a transition writes on a deal besides its state: the event's amount, and the gateway it came through. */
interface EventDealFields {
	/** The deal's value (and currency) from the event's amount; empty when the event has none. */
	money: { value?: number; currency?: string };
	/** The deal's custom fields the event fills in (the gateway). */
	extra: Record<string, unknown>;
}

function eventDealFields(event: CheckoutEventInput, fields: FieldKeys): EventDealFields {
	const money =
		event.amount !== undefined
			? {
					value: toMajorUnits(event.amount),
					...(event.currency ? { currency: event.currency } : {}),
				}
			: {};
	const extra: Record<string, unknown> = event.provider
		? { [fields.keys.gateway]: event.provider }
		: {};
	return { money, extra };
}

async function applyHeldEvent(
	client: PipedriveClient,
	event: CheckoutEventInput,
	leadRef: string,
	fields: FieldKeys,
	record: HeldRecord<LeadRecord>,
	shared: PipedriveShared,
	titleTemplate: string | undefined,
): Promise<ApplyEventResult> {
	const deal = await findLeadDeal(client, record, leadRef, shared.searchSettleMs);
	const current = deal ? readCheckoutState(deal.custom_fields, fields) : undefined;
	const transition = applyCheckoutEvent(current, event, deal ? expectedPaymentOf(deal) : undefined);
	const written = eventDealFields(event, fields);
	const effects = transition.effects.map((e) => e.kind);

	if (!deal) {
		const { dealId } = await createEventDeal(client, event, leadRef, fields, record, shared, {
			titleTemplate,
			transition,
			written,
		});
		return {
			dealId,
			dealCreated: true,
			status: transition.next.status,
			effects,
			followUpsCompleted: 0,
		};
	}

	const result: ApplyEventResult = {
		dealId: deal.id,
		dealCreated: false,
		status: transition.next.status,
		previousStatus: current?.status,
		ignored: transition.ignored,
		effects,
		followUpsCompleted: 0,
	};
	// A newer event of the same state changes nothing visible but moves the state's time on: it is
	// written too, or an older event arriving later would be measured against the stale time and move
	// the deal back (found by the fault matrix: failed, failed, then a late pending).
	const timeMoved = current !== undefined && transition.next.lastEventAt !== current.lastEventAt;
	if (!effects.length && !timeMoved) return result;
	// The effects that are not the deal's own fields go first, each safe to repeat (notes by marker,
	// activities marked done): the deal's state is written last, because once it holds this event's id a
	// redelivery is a duplicate that does nothing, so an effect still missing then would stay missing
	// (found by the fault matrix: a refund note lost to a 401 spell between the state and the note).
	await addEffectNotes(client, deal.id, event, transition, current?.olderIdsDropped === true);
	const completeFollowUps = effects.includes('completeFollowUps');
	const close = followUpCloser(client, deal.id, fields, result);
	if (completeFollowUps) await close(deal.custom_fields);
	const won = effects.includes('markWon');
	const updated = await client.updateDeal(deal.id, {
		...(won ? { status: 'won', ...written.money } : {}),
		custom_fields: { ...written.extra, ...writeCheckoutState(transition.next, fields) },
	});
	// And the follow-ups the deal has now that it is won: a rules run that created an activity since our
	// read wrote its id after it (runRules.ts closes the activities of a deal it finds won when it writes
	// them; between the two, none stays open).
	if (completeFollowUps) await close(updated?.custom_fields);
	return result;
}

/**
 * The deal of an event whose lead has none. The lead never reached Pipedrive (its message failed, or the
 * shop's form is not wired): the event still gets a deal, so the payment is not lost; the lead fills in the
 * person when it arrives.
 */
async function createEventDeal(
	client: PipedriveClient,
	event: CheckoutEventInput,
	leadRef: string,
	fields: FieldKeys,
	record: HeldRecord<LeadRecord>,
	shared: PipedriveShared,
	{
		titleTemplate,
		transition,
		written,
	}: {
		titleTemplate: string | undefined;
		transition: ReturnType<typeof applyCheckoutEvent>;
		written: EventDealFields;
	},
): Promise<{ dealId: number }> {
	const won = transition.effects.some((e) => e.kind === 'markWon');
	const sentAt = Date.now();
	await record.save({ ...record.data, creatingDealAt: sentAt });
	const created = await client.createDeal(
		{
			title: dealTitle(titleTemplate ?? 'Checkout {{leadId}}', { leadId: leadRef }),
			...written.money,
			...(won ? { status: 'won' } : {}),
			custom_fields: {
				[fields.keys.leadId]: leadRef,
				...written.extra,
				...writeCheckoutState(transition.next, fields),
			},
		},
		// No person to list by: the search by lead id finds a deal the lost attempt made, once it caught up.
		async () => await searchLeadDeal(client, leadRef, sentAt, shared.searchSettleMs),
	);
	await record.save({ dealId: created.id });
	// A refund that came before anything else still gets its note. (The deal was created holding this
	// event's id: a crash before the note leaves it missing, as a redelivery is then a duplicate.)
	await addEffectNotes(client, created.id, event, transition, false);
	return { dealId: created.id };
}

/**
 * Closes the follow-up activities a deal's custom fields name, each once however often it is called
 * (before and after the deal is written), counting them in `result.followUpsCompleted`.
 */
function followUpCloser(
	client: PipedriveClient,
	dealId: number,
	fields: FieldKeys,
	result: ApplyEventResult,
): (custom: Record<string, unknown> | undefined) => Promise<void> {
	const closed = new Set<number>();
	let looked = false;
	return async (custom) => {
		const followUps = parseFollowUps(custom?.[fields.keys.followUps]);
		const ids = followUps.flatMap((f) => (f.activityId ? [f.activityId] : []));
		// A rule marked without its activity's id: the run that made the activity stopped before it wrote
		// the id (n8n killed, Pipedrive refusing the write). Its activity carries the rule's marker: found
		// by it, once (one listing, only for such a deal).
		const unknown = followUps.filter((f) => !f.activityId);
		if (unknown.length && !looked) {
			looked = true;
			const activities = await client.dealActivities(dealId);
			for (const f of unknown) {
				const marker = effectMarker('follow-up', dealId, f.rule);
				for (const a of activities)
					if (a.is_deleted !== true && a.done !== true && hasMarker(a.note, marker)) ids.push(a.id);
			}
		}
		for (const id of ids) {
			if (closed.has(id)) continue;
			closed.add(id);
			if (await client.updateActivity(id, { done: true })) result.followUpsCompleted++;
		}
	};
}
