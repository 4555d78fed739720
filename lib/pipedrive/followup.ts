/**
 * What the Pipedrive Follow-up node does, without n8n: set up the deal fields, upsert a lead (person +
 * deal + note), apply a checkout event to its deal, and run the follow-up rules. Decisions come from the
 * pure modules (state machine, rule engine, field encoding); this module makes the calls, as few as it
 * can, and says how many it made.
 */
import { applyCheckoutEvent, type CheckoutEvent, type DealCheckoutState, type ExpectedPayment } from '../followup/state';
import { planFollowUps, renderTemplate, type DealForRules, type FollowUpRule, type PlannedActivity } from '../followup/rules';
import { escapeHtml } from '../forms/responses';
import { toMajorUnits, toMinorUnits } from '../gateways/money';
import type { PipedriveClient, Deal, Person, Row } from './client';
import { matchLeadDeal } from './matching';
import { effectMarker, hasMarker, survivorOf, withMarker } from './markers';
import {
	CHECKOUT_FIELDS,
	checkRuleName,
	fieldKeysOf,
	formatFollowUps,
	parseFollowUps,
	readCheckoutState,
	resolveFields,
	textField,
	writeCheckoutState,
	type FieldKeys,
} from './fields';

// ---- caches shared by the executions of one n8n process ----
// Field keys never change once created, and a lead's deal id never changes: caching them keeps a payment
// event at two calls. A deleted deal shows up as a 404 and falls back to the search.
const FIELD_KEYS_TTL_MS = 10 * 60_000;
const fieldKeyCache = new Map<string, { fields: FieldKeys; at: number }>();
const LEAD_DEALS_KEPT = 10_000;
const leadDealCache = new Map<string, number>();

const leadKey = (account: string, leadId: string) => `${account} ${leadId}`;

function rememberDeal(account: string, leadId: string, dealId: number): void {
	const key = leadKey(account, leadId);
	leadDealCache.delete(key);
	leadDealCache.set(key, dealId);
	if (leadDealCache.size > LEAD_DEALS_KEPT) leadDealCache.delete(leadDealCache.keys().next().value as string);
}

/** For tests: forget what this process learnt about accounts. */
export function clearCaches(): void {
	fieldKeyCache.clear();
	leadDealCache.clear();
}

export interface SetupResult {
	fields: Array<{ name: string; key: string; type: string; created: boolean }>;
	statusOptions: FieldKeys['statusOptions'];
}

/**
 * One Setup at a time per account in this process (it saves the calls); across processes, the fields two
 * Setups made at once are reconciled after the create (createMissingFields).
 */
const setupsInFlight = new Map<string, Promise<SetupResult>>();

/** Creates the missing deal fields; a second run finds them all and changes nothing. */
export async function setupFields(client: PipedriveClient, account: string): Promise<SetupResult> {
	const running = setupsInFlight.get(account);
	if (running) return await running;
	const setup = createMissingFields(client, account).finally(() => setupsInFlight.delete(account));
	setupsInFlight.set(account, setup);
	return await setup;
}

async function createMissingFields(client: PipedriveClient, account: string): Promise<SetupResult> {
	const existing = await client.dealFields();
	const resolution = resolveFields(existing);
	if (resolution.conflicts.length) throw new Error(`Pipedrive deal fields need attention: ${resolution.conflicts.join('; ')}`);
	const created = new Set<string>();
	for (const lacking of resolution.missingOptions) {
		const added = await client.addDealFieldOptions(lacking.fieldCode, lacking.labels);
		const field = resolution.found[lacking.id]!;
		field.options = [...(field.options ?? []), ...added];
	}
	const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
	for (const spec of resolution.missing) {
		const field = await client.addDealField({ field_name: spec.name, field_type: spec.type, options: spec.options?.map((label) => ({ label })) }, async () =>
			(await client.dealFields()).find((f) => sameName(f.field_name, spec.name)),
		);
		resolution.found[spec.id] = field;
		created.add(spec.id);
	}
	if (created.size) {
		// Another n8n process may have made the same fields at the same moment (Pipedrive has no conditional
		// create). Every process that made one looks again: of same-named fields the oldest stays, the others
		// are deleted, so all processes end on one set whatever the interleaving (see markers.ts survivorOf).
		const withIds = await client.dealFieldIds();
		const current = await client.dealFields();
		for (const spec of CHECKOUT_FIELDS.filter((f) => created.has(f.id))) {
			const survivor = survivorOf(withIds.filter((f) => sameName(f.name, spec.name)));
			if (!survivor) continue;
			for (const extra of survivor.extra) await client.deleteDealField(extra.key);
			const kept = current.find((f) => f.field_code === survivor.keep.key);
			if (kept) resolution.found[spec.id] = kept;
		}
	}
	const fields = fieldKeysOf(resolution.found);
	fieldKeyCache.set(account, { fields, at: Date.now() });
	return {
		fields: CHECKOUT_FIELDS.map((spec) => ({ name: spec.name, key: fields.keys[spec.id], type: spec.type, created: created.has(spec.id) })),
		statusOptions: fields.statusOptions,
	};
}

/** The field keys, from the cache or from Pipedrive (creating what is missing, as Setup does). */
export async function checkoutFields(client: PipedriveClient, account: string): Promise<FieldKeys> {
	const cached = fieldKeyCache.get(account);
	if (cached && Date.now() - cached.at < FIELD_KEYS_TTL_MS) return cached.fields;
	await setupFields(client, account);
	return fieldKeyCache.get(account)!.fields;
}

// ---- Upsert Lead ----

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
	/**
	 * A lead with a new lead id from a person whose open, unpaid checkout deal of the same product moved
	 * within this many hours goes to that deal (a second submit) instead of a new one; 0 turns it off.
	 */
	reuseOpenDealHours?: number;
}

export interface UpsertLeadResult {
	personId: number;
	dealId: number;
	personCreated: boolean;
	personUpdated: boolean;
	dealCreated: boolean;
	/** The lead went to the buyer's open checkout deal of an earlier submission (see matchLeadDeal). */
	resubmission: boolean;
	noteId?: number;
}

function fill(template: string, values: Record<string, string | undefined>): string {
	return renderTemplate(template, values, 'text').trim();
}

export function leadNote(lead: LeadInput, resubmission = false): string {
	const rows: Array<[string, string | undefined]> = [
		['Lead id', lead.leadId],
		['Form', lead.formName],
		['Product', lead.product],
		['Captured at', lead.capturedAt],
		['Referrer', lead.referrer],
		...Object.entries(lead.utm ?? {}).map(([k, v]) => [k, v] as [string, string]),
	];
	const items = rows.filter(([, v]) => v).map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</li>`);
	return `<p>${resubmission ? 'Checkout form submitted again' : 'Checkout lead'} (n8n checkout recovery)</p><ul>${items.join('')}</ul>`;
}

export async function upsertLead(client: PipedriveClient, account: string, lead: LeadInput, options: UpsertLeadOptions): Promise<UpsertLeadResult> {
	const fields = await checkoutFields(client, account);
	let personCreated = false;
	let personUpdated = false;
	const found = await client.findPersonByEmail(lead.email);
	let personId: number;
	if (!found) {
		const person = await client.createPerson(
			{
				name: lead.name,
				emails: [{ value: lead.email, primary: true, label: 'work' }],
				...(lead.phone ? { phones: [{ value: lead.phone, primary: true, label: 'mobile' }] } : {}),
				...(options.ownerId ? { owner_id: options.ownerId } : {}),
			},
			// A create whose answer was lost may have made the person: look before making another.
			async () => {
				const hit = await client.findPersonByEmail(lead.email);
				return hit ? ({ id: hit.id, name: hit.name } as Person) : undefined;
			},
		);
		personId = person.id;
		personCreated = true;
	} else {
		personId = found.id;
		const phones = found.phones ?? [];
		const digits = (p: string) => p.replace(/\D/g, '');
		const newPhone = lead.phone && !phones.some((p) => digits(p).endsWith(digits(lead.phone!).slice(-8))) ? lead.phone : undefined;
		const newName = lead.name && lead.name !== found.name ? lead.name : undefined;
		if (newPhone || newName) {
			// PATCH replaces the whole phones list, so the ones already there are sent along.
			await client.updatePerson(personId, {
				...(newName ? { name: newName } : {}),
				...(newPhone ? { phones: [...phones.map((value, i) => ({ value, primary: i === 0, label: 'work' })), { value: newPhone, primary: phones.length === 0, label: 'mobile' }] } : {}),
			});
			personUpdated = true;
		}
	}

	let dealId: number | undefined;
	let resubmission = false;
	/** The deal's lead id before this lead takes it over (a second submit), kept so that its link still finds the deal. */
	let earlierLeadId: string | undefined;
	/** This lead is one a second submit replaced on its deal: the deal keeps following the newer lead. */
	let olderThanDeal = false;
	/** Whether a deal found by id (cache or search) is this lead's, or the one a newer lead took over from it. */
	const adopt = async (candidate: number | undefined): Promise<void> => {
		if (candidate === undefined) return;
		const deal = await client.getDeal(candidate);
		if (!deal || deal.status === 'deleted') return;
		if (textField(deal.custom_fields, fields.keys.leadId) === lead.leadId) dealId = deal.id;
		else if (textField(deal.custom_fields, fields.keys.earlierLeadId) === lead.leadId) {
			dealId = deal.id;
			olderThanDeal = true;
		}
	};
	// A lead seen before (a redelivery, a corrected revision): read its deal, which another process may have
	// handed to a newer lead since.
	const cached = leadDealCache.get(leadKey(account, lead.leadId));
	await adopt(cached);
	if (cached !== undefined && dealId === undefined) leadDealCache.delete(leadKey(account, lead.leadId));
	// A deal created by a payment event that came before its lead has no person yet: only a search finds it.
	if (dealId === undefined && options.dealLookup === 'always') await adopt(await client.findDealByCustomField(lead.leadId));
	if (dealId === undefined && !personCreated) {
		// One listing (not held to the search limit) finds the deal of this lead id and the open checkout
		// that a second submit, with a new lead id, belongs to.
		const deals = await client.listDealsPage({ person_id: personId, sort_by: 'update_time', sort_direction: 'desc', limit: 100 });
		const match = matchLeadDeal(deals, fields, lead, (options.reuseOpenDealHours ?? DEFAULT_REUSE_OPEN_DEAL_HOURS) * 3_600_000);
		dealId = match?.dealId;
		resubmission = match?.by === 'resubmission';
		olderThanDeal = match?.by === 'earlierLead';
		if (resubmission) earlierLeadId = textField(deals.find((d) => d.id === dealId)?.custom_fields, fields.keys.leadId);
	}
	const title = fill(options.titleTemplate, { name: lead.name, product: lead.product, email: lead.email }) || lead.email;
	const leadFields: Record<string, unknown> = {
		[fields.keys.leadId]: lead.leadId,
		...(lead.product ? { [fields.keys.product]: lead.product } : {}),
		...(lead.paymentLink ? { [fields.keys.paymentLink]: lead.paymentLink } : {}),
		...(lead.gateway ? { [fields.keys.gateway]: lead.gateway } : {}),
	};
	const money = lead.amount !== undefined ? { value: toMajorUnits(lead.amount), currency: lead.currency ?? 'BRL' } : {};
	let dealCreated = false;
	if (dealId === undefined) {
		const startedAt = lead.capturedAt ?? new Date().toISOString();
		const state: DealCheckoutState = { status: 'started', lastEventAt: startedAt, appliedEventIds: [] };
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
			async () => (await client.listDealsPage({ person_id: personId, sort_by: 'add_time', sort_direction: 'desc', limit: 100 })).find((d) => d.custom_fields?.[fields.keys.leadId] === lead.leadId),
		);
		dealId = deal.id;
		dealCreated = true;
	} else {
		// The same lead again (a redelivery) or a second submit: bring the deal up to date (lead id, payment
		// link, value), never its state: a lead capture does not move a checkout back. The lead a second
		// submit replaced, delivered again, changes nothing but the person: the deal follows the newer one.
		const custom = olderThanDeal ? {} : { ...leadFields, ...(earlierLeadId && earlierLeadId !== lead.leadId ? { [fields.keys.earlierLeadId]: earlierLeadId } : {}) };
		await client.updateDeal(dealId, { person_id: personId, ...(olderThanDeal ? {} : money), custom_fields: custom });
		// The replaced lead's cache entry would bring its id back on a redelivery: it finds the deal by search.
		if (earlierLeadId && earlierLeadId !== lead.leadId) leadDealCache.delete(leadKey(account, earlierLeadId));
	}
	if (!olderThanDeal) rememberDeal(account, lead.leadId, dealId);
	let noteId: number | undefined;
	// A second submit's source and UTM data are news to the salesperson too.
	if (options.addNote && (dealCreated || resubmission)) noteId = (await addNoteOnce(client, dealId, leadNote(lead, resubmission), effectMarker('lead-note', dealId, lead.leadId), personId)).id;
	return { personId, dealId, personCreated, personUpdated, dealCreated, resubmission, noteId };
}

/** A note with its marker; after an ambiguous failure, the deal's notes are searched for it first. */
async function addNoteOnce(client: PipedriveClient, dealId: number, html: string, marker: string, personId?: number): Promise<Row> {
	return await client.addNote({ content: withMarker(html, marker), deal_id: dealId, ...(personId ? { person_id: personId } : {}) }, async () => (await client.dealNotes(dealId)).find((n) => hasMarker(n.content, marker)));
}

// ---- Apply Checkout Event ----

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

async function findLeadDeal(client: PipedriveClient, account: string, leadRef: string): Promise<Deal | undefined> {
	const cached = leadDealCache.get(leadKey(account, leadRef));
	if (cached !== undefined) {
		const deal = await client.getDeal(cached);
		if (deal && deal.status !== 'deleted') return deal;
		leadDealCache.delete(leadKey(account, leadRef));
	}
	const id = await client.findDealByCustomField(leadRef);
	if (id === undefined) return undefined;
	const deal = await client.getDeal(id);
	if (deal) rememberDeal(account, leadRef, id);
	return deal;
}

export async function applyEvent(client: PipedriveClient, account: string, event: CheckoutEventInput, options: { titleTemplate?: string } = {}): Promise<ApplyEventResult> {
	if (!event.eventId || !event.type || !event.occurredAt) throw new Error('The event needs eventId, type and occurredAt (the normalised event of the Payment Gateway node)');
	if (Number.isNaN(Date.parse(event.occurredAt))) throw new Error(`The event's occurredAt "${event.occurredAt}" is not a date`);
	// A claim (a Mercado Pago notification, an Asaas event) moves no deal: failing here, not ignoring,
	// keeps the message for a workflow that was wired without the Payment Gateway's Confirm Event.
	if (event.confirm) throw new Error(`Event ${event.eventId} is not confirmed with ${event.provider ?? 'the gateway'} yet: put Payment Gateway → Confirm Event before Apply Checkout Event`);
	if (!event.leadRef) return { dealCreated: false, ignored: 'no lead reference (not a checkout of this pack)', effects: [], followUpsCompleted: 0 };
	const fields = await checkoutFields(client, account);
	const deal = await findLeadDeal(client, account, event.leadRef);
	const current = deal ? readCheckoutState(deal.custom_fields, fields) : undefined;
	const transition = applyCheckoutEvent(current, event, deal ? expectedPaymentOf(deal) : undefined);
	const money = event.amount !== undefined ? { value: toMajorUnits(event.amount), ...(event.currency ? { currency: event.currency } : {}) } : {};
	const extra: Record<string, unknown> = event.provider ? { [fields.keys.gateway]: event.provider } : {};
	const effects = transition.effects.map((e) => e.kind);
	const won = effects.includes('markWon');

	if (!deal) {
		// The lead never reached Pipedrive (its message failed, or the shop's form is not wired): the event
		// still gets a deal, so the payment is not lost; the lead fills in the person when it arrives.
		const leadRef = event.leadRef;
		const created = await client.createDeal(
			{
				title: fill(options.titleTemplate ?? 'Checkout {{leadId}}', { leadId: leadRef }),
				...money,
				...(won ? { status: 'won' } : {}),
				custom_fields: { [fields.keys.leadId]: leadRef, ...extra, ...writeCheckoutState(transition.next, fields) },
			},
			// No person to list by: the search by lead id finds a deal the lost attempt made.
			async () => {
				const id = await client.findDealByCustomField(leadRef);
				return id === undefined ? undefined : await client.getDeal(id);
			},
		);
		rememberDeal(account, event.leadRef, created.id);
		return { dealId: created.id, dealCreated: true, status: transition.next.status, effects, followUpsCompleted: 0 };
	}

	const result: ApplyEventResult = { dealId: deal.id, dealCreated: false, status: transition.next.status, previousStatus: current?.status, ignored: transition.ignored, effects, followUpsCompleted: 0 };
	// A newer event of the same state changes nothing visible but moves the state's time on: it is
	// written too, or an older event arriving later would be measured against the stale time and move
	// the deal back (found by the fault matrix: failed, failed, then a late pending).
	const timeMoved = current !== undefined && transition.next.lastEventAt !== current.lastEventAt;
	if (!effects.length && !timeMoved) return result;
	await client.updateDeal(deal.id, {
		...(won ? { status: 'won', ...money } : {}),
		custom_fields: { ...extra, ...writeCheckoutState(transition.next, fields) },
	});
	if (effects.includes('completeFollowUps')) {
		for (const applied of parseFollowUps(deal.custom_fields?.[fields.keys.followUps])) {
			if (applied.activityId && (await client.updateActivity(applied.activityId, { done: true }))) result.followUpsCompleted++;
		}
	}
	for (const effect of transition.effects) {
		if (effect.kind !== 'addNote') continue;
		const source = `${escapeHtml(event.provider ?? 'gateway')}, event ${escapeHtml(event.eventId)}, ${escapeHtml(event.occurredAt)}`;
		const content =
			effect.reason === 'refunded'
				? `<p>Payment refunded${event.amount !== undefined ? ` ${moneyText(event.amount, event.currency)}` : ''} (${source})</p>`
				: `<p><b>Payment below the expected amount</b>: ${moneyText(effect.paid.amount ?? 0, effect.paid.currency)} paid, ${moneyText(effect.expected.amount, effect.expected.currency)} expected (${source}). The deal stays open with Checkout status "Underpaid": check with the buyer before delivering.</p>`;
		await addNoteOnce(client, deal.id, content, effectMarker(effect.reason, deal.id, event.eventId));
	}
	return result;
}

// ---- Run Follow-up Rules ----

export interface RunRulesOptions {
	pipelineId?: number;
	now?: Date;
	roundRobinStart?: number;
	/** For {{amount}}; the deal's currency is used. */
	locale?: string;
	/** Plan only: report what would be created, create nothing. */
	dryRun?: boolean;
	/**
	 * A fresh pay link for a lead id ({{paymentLink}} in the templates), valid from the moment the rule
	 * fires (lib/links); without it, or for a lead id it cannot sign, the deal's stored link is used.
	 */
	renewLink?: (leadId: string) => string | undefined;
}

export interface RunRulesResult {
	dealsChecked: number;
	planned: PlannedActivity[];
	created: Array<PlannedActivity & { activityId: number }>;
	errors: Array<{ dealId: number; rule: string; message: string }>;
	/** Planned from the listing, then not created: the deal was paid, closed, or the rule fired meanwhile. */
	skipped: Array<{ dealId: number; rule: string; reason: string }>;
	nextRoundRobin: number;
}

/**
 * One rules run at a time per account in this process: the schedule firing while the previous run still
 * waits on rate limits, or a test run from the editor during a scheduled one, would otherwise both plan
 * from the same listing and create the same follow-ups twice.
 */
const rulesRunsInFlight = new Map<string, Promise<unknown>>();

export async function runRules(client: PipedriveClient, account: string, rules: FollowUpRule[], options: RunRulesOptions = {}): Promise<RunRulesResult> {
	rules.forEach((r) => checkRuleName(r.name));
	const previous = rulesRunsInFlight.get(account) ?? Promise.resolve();
	const run = previous.catch(() => undefined).then(async () => await runRulesNow(client, account, rules, options));
	const settled = run.catch(() => undefined);
	rulesRunsInFlight.set(account, settled);
	void settled.then(() => {
		if (rulesRunsInFlight.get(account) === settled) rulesRunsInFlight.delete(account);
	});
	return await run;
}

/**
 * The activity of one rule on one deal, at most once even across n8n processes and lost answers: it carries
 * a marker; a create whose outcome is unknown looks for it before trying again; and after the create the
 * deal's activities are listed, so that of two made at once (two processes' runs) the oldest stays and
 * the other is deleted, by whichever process sees both.
 */
async function createActivityOnce(client: PipedriveClient, dealId: number, activity: PlannedActivity, personId: number | null): Promise<Row> {
	const marker = effectMarker('follow-up', dealId, activity.rule);
	const mine = async () => (await client.dealActivities(dealId)).filter((a) => hasMarker(a.note, marker) && a.is_deleted !== true);
	const row = await client.createActivity(
		{
			subject: activity.subject,
			type: activity.type,
			deal_id: dealId,
			owner_id: activity.ownerId,
			due_date: activity.dueDate,
			due_time: activity.dueTime,
			note: withMarker(activity.note ?? '', marker),
			...(personId ? { participants: [{ person_id: personId, primary: true }] } : {}),
		},
		async () => survivorOf(await mine())?.keep,
	);
	const survivor = survivorOf(await mine());
	if (!survivor) return row;
	for (const extra of survivor.extra) await client.deleteActivity(extra.id);
	return survivor.keep;
}

function renewedLink(options: RunRulesOptions, leadId: string | undefined): string | undefined {
	if (!leadId || !options.renewLink) return undefined;
	try {
		return options.renewLink(leadId);
	} catch {
		return undefined; // not a lead id of this pack's (a deal made by hand): its stored link, if any
	}
}

async function runRulesNow(client: PipedriveClient, account: string, rules: FollowUpRule[], options: RunRulesOptions): Promise<RunRulesResult> {
	const fields = await checkoutFields(client, account);
	const now = options.now ?? new Date();
	const deals = await client.listDeals({ status: 'open', ...(options.pipelineId ? { pipeline_id: options.pipelineId } : {}) });
	// What the listing said of each deal with a checkout state: its person, and what the rules saw.
	const listed = new Map<number, { personId: number | null; candidate: DealForRules }>();
	const formats = new Map<string, Intl.NumberFormat>();
	const money = (value: number, currency: string) => {
		let format = formats.get(currency);
		if (!format) formats.set(currency, (format = new Intl.NumberFormat(options.locale ?? 'pt-BR', { style: 'currency', currency })));
		return format.format(value);
	};
	for (const deal of deals) {
		const state = readCheckoutState(deal.custom_fields, fields);
		if (!state || !state.lastEventAt) continue;
		const amount = money(deal.value ?? 0, deal.currency || 'BRL');
		const candidate: DealForRules = {
			dealId: deal.id,
			status: state.status,
			statusSince: state.lastEventAt,
			ownerId: deal.owner_id,
			rulesApplied: parseFollowUps(deal.custom_fields?.[fields.keys.followUps]).map((a) => a.rule),
			fields: {
				name: deal.title,
				title: deal.title,
				product: textField(deal.custom_fields, fields.keys.product),
				amount,
				paymentLink: renewedLink(options, textField(deal.custom_fields, fields.keys.leadId)) ?? textField(deal.custom_fields, fields.keys.paymentLink),
				leadId: textField(deal.custom_fields, fields.keys.leadId),
			},
		};
		listed.set(deal.id, { personId: deal.person_id, candidate });
	}
	const candidates = [...listed.values()].map((l) => l.candidate);
	// {{name}} is the buyer's name: fetched only for deals a rule fires on, and only if a template uses it.
	const usesName = rules.some((r) => /\{\{\s*name\s*\}\}/.test(r.subject + (r.note ?? '')));
	const planned0 = planFollowUps(rules, candidates, now, options.roundRobinStart ?? 0);
	if (usesName) {
		for (const dealId of new Set(planned0.map((p) => p.dealId))) {
			const { personId, candidate } = listed.get(dealId)!;
			if (personId) {
				const person = await client.request<{ name: string }>({ method: 'GET', path: `/api/v2/persons/${personId}` });
				candidate.fields.name = person.data.name;
			}
		}
	}
	const planned = usesName ? planFollowUps(rules, candidates, now, options.roundRobinStart ?? 0) : planned0;
	const result: RunRulesResult = { dealsChecked: candidates.length, planned, created: [], errors: [], skipped: [], nextRoundRobin: (options.roundRobinStart ?? 0) + planned.filter((p) => rules.find((r) => r.name === p.rule)?.owner.kind === 'roundRobin').length };
	if (options.dryRun) return result;

	const perDeal = new Map<number, PlannedActivity[]>();
	for (const p of planned) perDeal.set(p.dealId, [...(perDeal.get(p.dealId) ?? []), p]);
	for (const [dealId, dealPlan] of perDeal) {
		// Read the deal again just before marking it: the listing may be minutes old by now (a long run,
		// rate limits), and a payment, a new checkout state or another process's run in between must win.
		const deal = await client.getDeal(dealId);
		const state = deal ? readCheckoutState(deal.custom_fields, fields) : undefined;
		const skip = (reason: string, which = dealPlan) => result.skipped.push(...which.map((p) => ({ dealId, rule: p.rule, reason })));
		if (!deal || deal.status !== 'open' || !state || state.status === 'paid') {
			skip('paid or closed since the listing');
			continue;
		}
		if (state.status !== listed.get(dealId)!.candidate.status) {
			skip('checkout state changed since the listing');
			continue;
		}
		const applied = parseFollowUps(deal.custom_fields?.[fields.keys.followUps]);
		const activities = dealPlan.filter((p) => !applied.some((a) => a.rule === p.rule));
		skip('fired since the listing', dealPlan.filter((p) => !activities.includes(p)));
		if (!activities.length) continue;
		// At most once: the deal records the rules before their activities exist. A crash between the two
		// loses an activity rather than creating it twice; a failed create takes its mark back.
		const marked = [...applied, ...activities.map((a) => ({ rule: a.rule }))];
		await client.updateDeal(dealId, { custom_fields: { [fields.keys.followUps]: formatFollowUps(marked) } });
		const done = [...applied];
		for (const activity of activities) {
			try {
				const row = await createActivityOnce(client, dealId, activity, deal.person_id);
				done.push({ rule: activity.rule, activityId: row.id });
				result.created.push({ ...activity, activityId: row.id });
			} catch (error) {
				result.errors.push({ dealId, rule: activity.rule, message: (error as Error).message });
			}
		}
		await client.updateDeal(dealId, { custom_fields: { [fields.keys.followUps]: formatFollowUps(done) } });
	}
	return result;
}
