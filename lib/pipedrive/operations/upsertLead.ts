/** Upsert Lead: the person by e-mail, one deal per lead (or the open checkout a second submit belongs to), and a note of its source. */
import type { DealCheckoutState } from '../../checkout/state';
import { renderTemplate } from '../../checkout/rules';
import { escapeHtml } from '../../html/escape';
import { toMajorUnits } from '../../gateways/money';
import type { Deal, PipedriveClient, Person, PersonHit } from '../client';
import { textField, writeCheckoutState, type FieldKeys } from '../fields';
import { matchLeadDeal } from '../matching';
import { effectMarker } from '../markers';
import type { HeldRecord } from '../../shared/record';
import {
	processLocalShared,
	type BuyerRecord,
	type LeadRecord,
	type PipedriveShared,
} from '../shared';
import { addNoteOnce } from './notes';
import { checkoutFields } from './setup';

export const DEFAULT_REUSE_OPEN_DEAL_HOURS = 24;

export interface LeadInput {
	leadId: string;
	name: string;
	email: string;
	phone?: string;
	product?: string;
	/** Minor units (cents). */
	amount?: number;
	currency?: string;
	utm?: Record<string, string>;
	referrer?: string;
	formName?: string;
	capturedAt?: string;
	paymentLink?: string;
	gateway?: string;
}

/** What the node's parameters hand over for a lead: whatever types their expressions gave. */
export type RawLeadInput = { [K in keyof LeadInput]?: unknown };

/** A positive number, or undefined for an empty value; `what` names the parameter when a value is not a number. */
export function optionalNumber(value: unknown, what?: string): number | undefined {
	if (value === '' || value === undefined || value === null) return undefined;
	const n = Number(value);
	if (what && !Number.isFinite(n))
		throw new Error(`${what} must be a number, got "${String(value)}"`);
	return Number.isFinite(n) && n > 0 ? n : undefined;
}

function text(value: unknown): string | undefined {
	return typeof value === 'string' && value.trim()
		? value.trim()
		: typeof value === 'number'
			? String(value)
			: undefined;
}

const REQUIRED: Array<[keyof LeadInput, string]> = [
	['leadId', 'Lead ID'],
	['email', 'Email'],
	['name', 'Name'],
];

/**
 * The lead Upsert Lead works on, checked: lead ID, e-mail and name present, the amount a number, the UTM
 * data an object (or its JSON). An error names the parameter to map.
 */
export function leadInputFrom(raw: RawLeadInput): LeadInput {
	const utmRaw = raw.utm;
	const utm =
		typeof utmRaw === 'string' && utmRaw.trim() ? (JSON.parse(utmRaw) as unknown) : utmRaw;
	const lead: LeadInput = {
		leadId: text(raw.leadId) ?? '',
		email: text(raw.email) ?? '',
		name: text(raw.name) ?? '',
		phone: text(raw.phone),
		product: text(raw.product),
		amount: optionalNumber(raw.amount, 'Amount (Cents)'),
		currency: text(raw.currency),
		utm:
			utm && typeof utm === 'object' && !Array.isArray(utm)
				? (utm as Record<string, string>)
				: undefined,
		referrer: text(raw.referrer),
		formName: text(raw.formName),
		capturedAt: text(raw.capturedAt),
		paymentLink: text(raw.paymentLink),
		gateway: text(raw.gateway),
	};
	for (const [field, parameter] of REQUIRED) {
		if (!lead[field])
			throw new Error(
				`The lead has no ${field === 'leadId' ? 'Lead ID' : field}: map the "${parameter}" parameter`,
			);
	}
	return lead;
}

export interface UpsertLeadOptions {
	pipelineId?: number;
	stageId?: number;
	ownerId?: number;
	/** `{{name}}`, `{{product}}`, `{{email}}`. */
	titleTemplate: string;
	/**
	 * 'existingPersonsOnly' skips the deal search for a person just created (a new person has no deal of
	 * this lead unless a payment event for it was applied before the lead itself); 'always' searches anyway.
	 */
	dealLookup: 'always' | 'existingPersonsOnly';
	addNote: boolean;
	/** The state every n8n process shares (lib/pipedrive/shared.ts); this process's own by default. */
	shared?: PipedriveShared;
	/**
	 * A lead with a new lead id from a person whose open, unpaid checkout deal of the same product moved
	 * within this many hours goes to that deal (a second submit) instead of a new one; 0 turns it off.
	 */
	reuseOpenDealHours?: number;
	/**
	 * Leads of one e-mail per hour that get Pipedrive work; past it a lead costs no call (see
	 * `recordOverCap`). 0 turns the cap off.
	 */
	maxLeadsPerBuyerPerHour?: number;
}

/** Leads of one e-mail an hour that get Pipedrive work, by default: far above any buyer's, far below a loop's. */
export const DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR = 10;
const HOUR_MS = 3_600_000;

export interface UpsertLeadResult {
	/**
	 * The buyer's leads of the last hour had reached the cap: this one was mapped to the buyer's latest
	 * deal without a Pipedrive call (a payment through its link still wins that deal).
	 */
	overCap?: boolean;
	/** The post's buyer; none for a post that carried another buyer's lead id with an e-mail no person has. */
	personId?: number;
	dealId: number;
	personCreated: boolean;
	dealCreated: boolean;
	/** The lead went to the buyer's open checkout deal of an earlier submission (see matchLeadDeal). */
	resubmission: boolean;
	/**
	 * The lead's id is on a deal of another person (an Elementor token posted again with another e-mail):
	 * that deal was left as it was, and a note on it says so.
	 */
	otherBuyersDeal?: boolean;
	noteId?: number;
}

/** A deal title from its template, as plain text. */
export function dealTitle(template: string, values: Record<string, string | undefined>): string {
	return renderTemplate(template, values, 'text').trim();
}

/** What a form post said about the buyer that the person in Pipedrive does not say (never written to the person). */
export interface FormDataNotApplied {
	name?: string;
	phone?: string;
}

export function leadNote(
	lead: LeadInput,
	resubmission = false,
	notApplied: FormDataNotApplied = {},
): string {
	const rows: Array<[string, string | undefined]> = [
		['Lead id', lead.leadId],
		['Name on this form (person not changed)', notApplied.name],
		['Phone on this form (person not changed)', notApplied.phone],
		['Form', lead.formName],
		['Product', lead.product],
		['Captured at', lead.capturedAt],
		['Referrer', lead.referrer],
		...Object.entries(lead.utm ?? {}).map(([k, v]) => [k, v] as [string, string]),
	];
	const items = rows
		.filter(([, v]) => v)
		.map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</li>`);
	return `<p>${resubmission ? 'Checkout form submitted again' : 'Checkout lead'} (n8n checkout recovery)</p><ul>${items.join('')}</ul>`;
}

/** The note on a deal whose lead id a form post of another e-mail carried (nothing of that post applied). */
export function otherBuyerNote(lead: LeadInput): string {
	return `<p>A checkout form post carried this deal's lead id with another e-mail (${escapeHtml(lead.email)}). Nothing on this deal or its person was changed (n8n checkout recovery).</p>`;
}

/** Always noted (whatever Add Note says): the salesperson should know the checkout's token was reused. */
async function noteOtherBuyer(
	client: PipedriveClient,
	dealId: number,
	lead: LeadInput,
): Promise<number | undefined> {
	return (
		await addNoteOnce(
			client,
			dealId,
			otherBuyerNote(lead),
			effectMarker('other-buyer-note', dealId, lead.leadId, lead.email.toLowerCase()),
			undefined,
			true, // the same post again must not add it twice: it comes by no other path
		)
	).id;
}

/**
 * The person by e-mail, found by another search after a create that may have been sent (`sentAt`): while
 * Pipedrive's search index has not caught up (`settleMs` after the create), a miss proves nothing.
 */
async function findPersonSettled(
	client: PipedriveClient,
	email: string,
	sentAt: number | undefined,
	settleMs: number,
): Promise<PersonHit | undefined> {
	for (;;) {
		const hit = await client.findPersonByEmail(email);
		if (hit || sentAt === undefined) return hit;
		const left = sentAt + settleMs - Date.now();
		if (left <= 0) return undefined;
		await new Promise((resolve) => setTimeout(resolve, Math.min(left, 1000)));
	}
}

/**
 * The buyer's person, with their record held: the one the record names (read by id, which is consistent),
 * else the one a search finds, else a new one, recorded as an intent before the create and by id after.
 * An existing person is never changed by a lead: a form post proves nothing but that someone knows an
 * e-mail, so a name or phone that differs from the person's is only reported (for the lead's note).
 */
async function personOfLead(
	client: PipedriveClient,
	lead: LeadInput,
	buyer: HeldRecord<BuyerRecord>,
	options: UpsertLeadOptions,
	settleMs: number,
	/** False: only an existing person is taken (undefined when there is none). */
	create = true,
): Promise<
	{ personId: number; personCreated: boolean; notApplied: FormDataNotApplied } | undefined
> {
	let found: PersonHit | undefined;
	const known = buyer.data?.personId;
	if (known !== undefined) {
		const person = await client.getPerson(known);
		if (person && person.is_deleted !== true && person.active_flag !== false)
			found = {
				id: person.id,
				name: person.name,
				phones: (person.phones ?? []).map((p) => p.value),
			};
	}
	found ??= await findPersonSettled(client, lead.email, buyer.data?.creatingPersonAt, settleMs);
	if (!found && !create) return undefined;
	if (!found) {
		const sentAt = Date.now();
		await buyer.save({ ...buyer.data, creatingPersonAt: sentAt });
		const person = await client.createPerson(
			{
				name: lead.name,
				emails: [{ value: lead.email, primary: true, label: 'work' }],
				...(lead.phone ? { phones: [{ value: lead.phone, primary: true, label: 'mobile' }] } : {}),
				...(options.ownerId ? { owner_id: options.ownerId } : {}),
			},
			// A create whose answer was lost may have made the person: look before making another, for as
			// long as the search may lag behind it.
			async () => {
				const hit = await findPersonSettled(client, lead.email, sentAt, settleMs);
				return hit ? ({ id: hit.id, name: hit.name } as Person) : undefined;
			},
		);
		await buyer.save({ ...buyer.data, creatingPersonAt: undefined, personId: person.id });
		return { personId: person.id, personCreated: true, notApplied: {} };
	}
	if (buyer.data?.personId !== found.id)
		await buyer.save({ ...buyer.data, creatingPersonAt: undefined, personId: found.id });
	const phones = found.phones ?? [];
	const digits = (p: string) => p.replace(/\D/g, '');
	const newPhone =
		lead.phone && !phones.some((p) => digits(p).endsWith(digits(lead.phone!).slice(-8)))
			? lead.phone
			: undefined;
	const newName =
		lead.name && lead.name.trim().toLowerCase() !== (found.name ?? '').trim().toLowerCase()
			? lead.name
			: undefined;
	return {
		personId: found.id,
		personCreated: false,
		notApplied: { ...(newName ? { name: newName } : {}), ...(newPhone ? { phone: newPhone } : {}) },
	};
}

export async function upsertLead(
	client: PipedriveClient,
	account: string,
	lead: LeadInput,
	options: UpsertLeadOptions,
): Promise<UpsertLeadResult> {
	const shared = options.shared ?? processLocalShared(account);
	// The lead first, then its buyer (the only order anything takes both in: no deadlock).
	return await shared.withLead(
		lead.leadId,
		async (leadRecord) =>
			await shared.withBuyer(
				lead.email,
				async (buyer) =>
					await upsertHeldLead(client, account, lead, options, shared, leadRecord, buyer),
			),
	);
}

/** Upsert Lead with the lead's and the buyer's records held (lib/pipedrive/shared.ts). */
async function upsertHeldLead(
	client: PipedriveClient,
	account: string,
	lead: LeadInput,
	options: UpsertLeadOptions,
	shared: PipedriveShared,
	leadRecord: HeldRecord<LeadRecord>,
	buyer: HeldRecord<BuyerRecord>,
): Promise<UpsertLeadResult> {
	const capped = await recordOverCap(lead, options, leadRecord, buyer);
	if (capped) return capped;
	const fields = await checkoutFields(client, account, shared);
	const { recorded, leadHasBuyer } = await recordedDeal(client, fields, lead, options, leadRecord);
	const buyerOfPost = await personOfLead(
		client,
		lead,
		buyer,
		options,
		shared.searchSettleMs,
		!leadHasBuyer,
	);
	if (!buyerOfPost) {
		const dealId = recorded!.id;
		const noteId = await noteOtherBuyer(client, dealId, lead);
		return {
			dealId,
			personCreated: false,
			dealCreated: false,
			resubmission: false,
			otherBuyersDeal: true,
			noteId,
		};
	}
	const { personId, personCreated, notApplied } = buyerOfPost;
	// Without a map entry the deal above came from the search (with dealLookup 'always'): not searched again.
	const searchedAlready = leadRecord.data?.dealId === undefined;
	const found = await dealOfLead(client, fields, lead, options, personId, personCreated, {
		recorded,
		searchedAlready,
	});
	const written = await writeLeadDeal(client, fields, lead, options, leadRecord, personId, found);
	const { dealId, dealCreated } = written;
	const resubmission = found?.by === 'resubmission' || found?.by === 'paidAfter';
	if (leadRecord.data?.dealId !== dealId) await leadRecord.save({ dealId });
	if (written.otherBuyersDeal) {
		const noteId = await noteOtherBuyer(client, dealId, lead);
		return {
			personId,
			dealId,
			personCreated,
			dealCreated,
			resubmission,
			otherBuyersDeal: true,
			noteId,
		};
	}
	const noteId = await noteLead(
		client,
		lead,
		options,
		{ personId, dealId, dealCreated, resubmission },
		notApplied,
	);
	await countLead(buyer, lead.leadId, dealId);
	return { personId, dealId, personCreated, dealCreated, resubmission, noteId };
}

/**
 * The deal the lead → deal map names for this lead id (or, with dealLookup 'always' and no map entry, the
 * one a search finds), and whether it is this lead's with a person already.
 */
async function recordedDeal(
	client: PipedriveClient,
	fields: FieldKeys,
	lead: LeadInput,
	options: UpsertLeadOptions,
	leadRecord: HeldRecord<LeadRecord>,
): Promise<{ recorded: Deal | undefined; leadHasBuyer: boolean }> {
	// This lead id on a deal that has a person already: a post of another e-mail (an Elementor token
	// replayed) must not even create a person, so the post's e-mail is only looked up.
	const recordedId =
		leadRecord.data?.dealId ??
		(options.dealLookup === 'always' ? await client.findDealByCustomField(lead.leadId) : undefined);
	const recorded = recordedId !== undefined ? await client.getDeal(recordedId) : undefined;
	const leadHasBuyer =
		recorded !== undefined &&
		recorded.status !== 'deleted' &&
		typeof recorded.person_id === 'number' &&
		textField(recorded.custom_fields, fields.keys.leadId) === lead.leadId;
	return { recorded, leadHasBuyer };
}

/**
 * The lead's note on its deal, when Add Note is on and there is news: a new deal, a second submit, or
 * buyer data that differ from the person. Its id, or undefined when no note was due.
 */
async function noteLead(
	client: PipedriveClient,
	lead: LeadInput,
	options: UpsertLeadOptions,
	{
		personId,
		dealId,
		dealCreated,
		resubmission,
	}: { personId: number; dealId: number; dealCreated: boolean; resubmission: boolean },
	notApplied: FormDataNotApplied,
): Promise<number | undefined> {
	// A second submit's source and UTM data are news to the salesperson too, and so is what a post said
	// about the buyer that differs from the person (a typo fixed, or someone else's words: a person decides).
	const differs = Boolean(notApplied.name || notApplied.phone);
	if (!(options.addNote && (dealCreated || resubmission || differs))) return undefined;
	return (
		await addNoteOnce(
			client,
			dealId,
			leadNote(lead, resubmission, notApplied),
			effectMarker(
				'lead-note',
				dealId,
				lead.leadId,
				...(differs ? [notApplied.name ?? '', notApplied.phone ?? ''] : []),
			),
			personId,
			// A redelivery of a lead whose data differ comes this way again: look before writing.
			differs && !dealCreated,
		)
	).id;
}

/**
 * The deal a lead belongs to, and how it was found:
 *  - `own`: the deal carries this lead id (a redelivery, a corrected revision, or a deal a payment made first);
 *  - `earlierLead`: the deal records this lead as the buyer's other submission ("Checkout earlier lead id");
 *  - `resubmission`: the buyer's open checkout of the same product, which a new lead id joins;
 *  - `paidAfter`: the buyer's checkout of the same product paid after this lead was captured (a submit
 *    the payment through another of the buyer's links overtook): recorded, the paid deal left as it is.
 * `personId` is the deal's person (null: a deal a payment made before its lead).
 */
interface FoundDeal {
	dealId: number;
	personId: number | null;
	by: 'own' | 'earlierLead' | 'resubmission' | 'paidAfter';
}

async function dealOfLead(
	client: PipedriveClient,
	fields: FieldKeys,
	lead: LeadInput,
	options: UpsertLeadOptions,
	personId: number,
	personCreated: boolean,
	/** The deal the lead → deal map (or the search) named, and whether the search ran for it already. */
	{ recorded, searchedAlready }: { recorded: Deal | undefined; searchedAlready: boolean },
): Promise<FoundDeal | undefined> {
	/** Whether a deal found by id (the lead → deal map or a search) is this lead's own, or the one it was recorded on. */
	const adopt = (deal: Deal | undefined): FoundDeal | undefined => {
		if (!deal || deal.status === 'deleted') return undefined;
		const by =
			textField(deal.custom_fields, fields.keys.leadId) === lead.leadId
				? 'own'
				: textField(deal.custom_fields, fields.keys.earlierLeadId) === lead.leadId
					? 'earlierLead'
					: undefined;
		return by && { dealId: deal.id, personId: deal.person_id ?? null, by };
	};
	// A lead seen before: its deal from the lead → deal map (a newer lead may have taken it over since).
	const known = adopt(recorded);
	if (known) return known;
	// The map put this lead on the buyer's deal before, and a newer submission has taken the deal's "earlier
	// lead" field since: a redelivery of this lead is still that deal's, and leaves it as it is.
	if (recorded && recorded.status !== 'deleted' && recorded.person_id === personId)
		return { dealId: recorded.id, personId, by: 'earlierLead' };
	// A deal created by a payment event that came before its lead has no person yet: only a search finds it.
	if (options.dealLookup === 'always' && !searchedAlready) {
		const searched = await client.findDealByCustomField(lead.leadId);
		const found =
			searched !== undefined && searched !== recorded?.id
				? adopt(await client.getDeal(searched))
				: undefined;
		if (found) return found;
	}
	if (personCreated) return undefined;
	// One listing (not held to the search limit; every page) finds the deal of this lead id and the open
	// checkout that a second submit, with a new lead id, belongs to.
	const match = matchLeadDeal(
		await client.personDeals(personId, 'update_time'),
		fields,
		lead,
		(options.reuseOpenDealHours ?? DEFAULT_REUSE_OPEN_DEAL_HOURS) * 3_600_000,
	);
	if (!match) return undefined;
	return {
		dealId: match.dealId,
		personId, // the person's own deals
		by: match.by === 'sameLead' ? 'own' : match.by,
	};
}

/**
 * Creates the lead's deal, or brings the found one up to date as far as a form post may: never its
 * state, and never another person's deal, lead, link or value.
 */
async function writeLeadDeal(
	client: PipedriveClient,
	fields: FieldKeys,
	lead: LeadInput,
	options: UpsertLeadOptions,
	leadRecord: HeldRecord<LeadRecord>,
	personId: number,
	found: FoundDeal | undefined,
): Promise<{ dealId: number; dealCreated: boolean; otherBuyersDeal: boolean }> {
	const leadFields: Record<string, unknown> = {
		[fields.keys.leadId]: lead.leadId,
		...(lead.product ? { [fields.keys.product]: lead.product } : {}),
		...(lead.utm?.utm_source ? { [fields.keys.source]: lead.utm.utm_source } : {}),
		...(lead.paymentLink ? { [fields.keys.paymentLink]: lead.paymentLink } : {}),
		...(lead.gateway ? { [fields.keys.gateway]: lead.gateway } : {}),
	};
	const money =
		lead.amount !== undefined
			? { value: toMajorUnits(lead.amount), currency: lead.currency ?? 'BRL' }
			: {};
	if (!found) {
		const title =
			dealTitle(options.titleTemplate, {
				name: lead.name,
				product: lead.product,
				email: lead.email,
			}) || lead.email;
		// The intent first: a crash between the create and the record leaves it for the next holder, whose
		// listing of the person's deals (read-after-write, unlike search) finds what the create made.
		await leadRecord.save({ ...leadRecord.data, creatingDealAt: Date.now() });
		const state: DealCheckoutState = {
			status: 'started',
			lastEventAt: lead.capturedAt ?? new Date().toISOString(),
			appliedEventIds: [],
		};
		const deal = await client.createDeal(
			{
				title,
				person_id: personId,
				...money,
				...(options.pipelineId ? { pipeline_id: options.pipelineId } : {}),
				...(options.stageId ? { stage_id: options.stageId } : {}),
				...(options.ownerId ? { owner_id: options.ownerId } : {}),
				custom_fields: { ...leadFields, ...writeCheckoutState(state, fields) },
			},
			async () =>
				(await client.personDeals(personId, 'add_time')).find(
					(d) => d.custom_fields?.[fields.keys.leadId] === lead.leadId,
				),
		);
		await leadRecord.save({ dealId: deal.id });
		return { dealId: deal.id, dealCreated: true, otherBuyersDeal: false };
	}
	const { dealId } = found;
	// This lead id is on another person's deal: an Elementor token posted again with another e-mail. A form
	// post proves no more than knowing the token, so the deal stays with its buyer, unchanged.
	if (found.personId !== null && found.personId !== personId)
		return { dealId, dealCreated: false, otherBuyersDeal: true };
	if (found.by === 'resubmission') {
		// A second submit of the buyer (a new lead id for the same open checkout): the deal keeps its first
		// lead, link and value, which a stranger who knows the e-mail cannot replace; this lead is recorded
		// on it (and in the lead → deal map) so that a payment through its own link still wins this deal.
		await client.updateDeal(dealId, {
			custom_fields: { [fields.keys.earlierLeadId]: lead.leadId },
		});
	} else if (found.by === 'own') {
		// The same lead again (a redelivery, a corrected revision of the same checkout), or the lead of a deal
		// a payment made first: bring the deal up to date (its person when it has none, payment link, value),
		// never its state: a lead capture does not move a checkout back.
		await client.updateDeal(dealId, {
			...(found.personId === null ? { person_id: personId } : {}),
			...money,
			custom_fields: leadFields,
		});
	}
	return { dealId, dealCreated: false, otherBuyersDeal: false };
}

/** The buyer's leads of the last hour that got Pipedrive work (their ids and deals), newest last. */
function leadsOfLastHour(buyer: HeldRecord<BuyerRecord>, now: number) {
	return (buyer.data?.recentLeads ?? []).filter((r) => now - r.at < HOUR_MS);
}

/**
 * A loop of posts with one e-mail must not spend the account's Pipedrive budget (and pause the payments
 * behind it): past the cap, a new lead of the buyer is mapped to the buyer's latest deal in the lead →
 * deal map only, with no Pipedrive call, so a payment through its link still wins that deal. The lead is
 * in the archive like any other. A lead counted already (a redelivery) goes its normal way.
 */
async function recordOverCap(
	lead: LeadInput,
	options: UpsertLeadOptions,
	leadRecord: HeldRecord<LeadRecord>,
	buyer: HeldRecord<BuyerRecord>,
): Promise<UpsertLeadResult | undefined> {
	const cap = options.maxLeadsPerBuyerPerHour ?? DEFAULT_MAX_LEADS_PER_BUYER_PER_HOUR;
	const recent = leadsOfLastHour(buyer, Date.now());
	if (cap <= 0 || recent.length < cap || recent.some((r) => r.leadId === lead.leadId))
		return undefined;
	const latest = recent[recent.length - 1];
	if (leadRecord.data?.dealId !== latest.dealId)
		await leadRecord.save({ ...leadRecord.data, dealId: latest.dealId });
	return {
		personId: buyer.data?.personId,
		dealId: latest.dealId,
		personCreated: false,
		dealCreated: false,
		resubmission: true,
		overCap: true,
	};
}

/** Counts a lead that got Pipedrive work against the buyer's hour (once per lead id). */
async function countLead(
	buyer: HeldRecord<BuyerRecord>,
	leadId: string,
	dealId: number,
): Promise<void> {
	const now = Date.now();
	const recent = leadsOfLastHour(buyer, now).filter((r) => r.leadId !== leadId);
	await buyer.save({ ...buyer.data, recentLeads: [...recent, { leadId, dealId, at: now }] });
}
