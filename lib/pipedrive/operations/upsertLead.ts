/** Upsert Lead: the person by e-mail, one deal per lead (or the open checkout a second submit belongs to), and a note of its source. */
import type { DealCheckoutState } from '../../checkout/state';
import { renderTemplate } from '../../checkout/rules';
import { escapeHtml } from '../../html/escape';
import { toMajorUnits } from '../../gateways/money';
import type { PipedriveClient, Person } from '../client';
import { textField, writeCheckoutState } from '../fields';
import { matchLeadDeal } from '../matching';
import { effectMarker } from '../markers';
import { leadDealCache, leadKey, rememberDeal } from './caches';
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

/** A deal title from its template, as plain text. */
export function dealTitle(template: string, values: Record<string, string | undefined>): string {
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
	const items = rows
		.filter(([, v]) => v)
		.map(([k, v]) => `<li><b>${escapeHtml(k)}</b>: ${escapeHtml(String(v))}</li>`);
	return `<p>${resubmission ? 'Checkout form submitted again' : 'Checkout lead'} (n8n checkout recovery)</p><ul>${items.join('')}</ul>`;
}

export async function upsertLead(
	client: PipedriveClient,
	account: string,
	lead: LeadInput,
	options: UpsertLeadOptions,
): Promise<UpsertLeadResult> {
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
		const newPhone =
			lead.phone && !phones.some((p) => digits(p).endsWith(digits(lead.phone!).slice(-8)))
				? lead.phone
				: undefined;
		const newName = lead.name && lead.name !== found.name ? lead.name : undefined;
		if (newPhone || newName) {
			// PATCH replaces the whole phones list, so the ones already there are sent along.
			await client.updatePerson(personId, {
				...(newName ? { name: newName } : {}),
				...(newPhone
					? {
							phones: [
								...phones.map((value, i) => ({ value, primary: i === 0, label: 'work' })),
								{ value: newPhone, primary: phones.length === 0, label: 'mobile' },
							],
						}
					: {}),
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
	if (cached !== undefined && dealId === undefined)
		leadDealCache.delete(leadKey(account, lead.leadId));
	// A deal created by a payment event that came before its lead has no person yet: only a search finds it.
	if (dealId === undefined && options.dealLookup === 'always')
		await adopt(await client.findDealByCustomField(lead.leadId));
	if (dealId === undefined && !personCreated) {
		// One listing (not held to the search limit) finds the deal of this lead id and the open checkout
		// that a second submit, with a new lead id, belongs to.
		const deals = await client.listDealsPage({
			person_id: personId,
			sort_by: 'update_time',
			sort_direction: 'desc',
			limit: 100,
		});
		const match = matchLeadDeal(
			deals,
			fields,
			lead,
			(options.reuseOpenDealHours ?? DEFAULT_REUSE_OPEN_DEAL_HOURS) * 3_600_000,
		);
		dealId = match?.dealId;
		resubmission = match?.by === 'resubmission';
		olderThanDeal = match?.by === 'earlierLead';
		if (resubmission)
			earlierLeadId = textField(
				deals.find((d) => d.id === dealId)?.custom_fields,
				fields.keys.leadId,
			);
	}
	const title =
		dealTitle(options.titleTemplate, {
			name: lead.name,
			product: lead.product,
			email: lead.email,
		}) || lead.email;
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
	let dealCreated = false;
	if (dealId === undefined) {
		const startedAt = lead.capturedAt ?? new Date().toISOString();
		const state: DealCheckoutState = {
			status: 'started',
			lastEventAt: startedAt,
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
				(
					await client.listDealsPage({
						person_id: personId,
						sort_by: 'add_time',
						sort_direction: 'desc',
						limit: 100,
					})
				).find((d) => d.custom_fields?.[fields.keys.leadId] === lead.leadId),
		);
		dealId = deal.id;
		dealCreated = true;
	} else {
		// The same lead again (a redelivery) or a second submit: bring the deal up to date (lead id, payment
		// link, value), never its state: a lead capture does not move a checkout back. The lead a second
		// submit replaced, delivered again, changes nothing but the person: the deal follows the newer one.
		const custom = olderThanDeal
			? {}
			: {
					...leadFields,
					...(earlierLeadId && earlierLeadId !== lead.leadId
						? { [fields.keys.earlierLeadId]: earlierLeadId }
						: {}),
				};
		await client.updateDeal(dealId, {
			person_id: personId,
			...(olderThanDeal ? {} : money),
			custom_fields: custom,
		});
		// The replaced lead's cache entry would bring its id back on a redelivery: it finds the deal by search.
		if (earlierLeadId && earlierLeadId !== lead.leadId)
			leadDealCache.delete(leadKey(account, earlierLeadId));
	}
	if (!olderThanDeal) rememberDeal(account, lead.leadId, dealId);
	let noteId: number | undefined;
	// A second submit's source and UTM data are news to the salesperson too.
	if (options.addNote && (dealCreated || resubmission))
		noteId = (
			await addNoteOnce(
				client,
				dealId,
				leadNote(lead, resubmission),
				effectMarker('lead-note', dealId, lead.leadId),
				personId,
			)
		).id;
	return { personId, dealId, personCreated, personUpdated, dealCreated, resubmission, noteId };
}
