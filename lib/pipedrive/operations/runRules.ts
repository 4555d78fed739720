/** Run Follow-Up Rules: the rule engine's plan for the open checkout deals, made into activities at most once per deal and rule. */
import {
	planFollowUps,
	type DealForRules,
	type FollowUpRule,
	type PlannedActivity,
} from '../../checkout/rules';
import type { Deal, PipedriveClient, Row } from '../client';
import {
	checkRuleName,
	formatFollowUps,
	parseFollowUps,
	readCheckoutState,
	textField,
	type AppliedFollowUp,
	type FieldKeys,
} from '../fields';
import { effectMarker, hasMarker, survivorOf, withMarker } from '../markers';
import { processLocalShared, type PipedriveShared, type RulesRecord } from '../shared';
import { checkoutFields } from './setup';

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
	/** The state every n8n process shares (lib/pipedrive/shared.ts); this process's own by default. */
	shared?: PipedriveShared;
}

export interface RunRulesResult {
	dealsChecked: number;
	planned: PlannedActivity[];
	created: Array<PlannedActivity & { activityId: number }>;
	errors: Array<{ dealId: number; rule: string; message: string }>;
	/** Planned from the listing, then not created: the deal was paid, closed, or the rule fired meanwhile. */
	skipped: Array<{ dealId: number; rule: string; reason: string }>;
	nextRoundRobin: number;
	/** The open deals updated since this time were listed (undefined: every open deal). */
	listedSince?: string;
}

/**
 * One rules run at a time per account, across every n8n process sharing the state (two workers running
 * the schedule, a test run from the editor during a scheduled one): two runs would otherwise plan from the
 * same listing and create the same follow-ups twice. The run holds the account's rules record (renewed
 * while it works), which also carries the round-robin counter: an explicit `roundRobinStart` wins, else
 * the count continues where the last run of any process stopped.
 */
export async function runRules(
	client: PipedriveClient,
	account: string,
	rules: FollowUpRule[],
	options: RunRulesOptions = {},
): Promise<RunRulesResult> {
	rules.forEach((r) => checkRuleName(r.name));
	const shared = options.shared ?? processLocalShared(account);
	return await shared.withRules(async (held) => {
		const roundRobinStart = options.roundRobinStart ?? held.data?.roundRobin ?? 0;
		const rulesKey = JSON.stringify([rules, options.pipelineId ?? null]);
		const startedAt = Date.now();
		const since = listingStart(held.data?.lastRun, rulesKey, rules, startedAt);
		const result = await runRulesNow(
			client,
			account,
			rules,
			{ ...options, roundRobinStart },
			shared,
			since,
		);
		if (!options.dryRun)
			await held.save({
				roundRobin: result.nextRoundRobin,
				// A run with errors is not a base for the next one's listing: that one lists everything.
				...(result.errors.length
					? {}
					: {
							lastRun: {
								at: startedAt,
								fullAt: since === undefined ? startedAt : held.data!.lastRun!.fullAt,
								rulesKey,
							},
						}),
			});
		return {
			...result,
			listedSince: since === undefined ? undefined : new Date(since).toISOString(),
		};
	});
}

/** Every open deal is listed again this often, whatever the last runs did (a safety net). */
const FULL_LISTING_EVERY_MS = 24 * 3_600_000;
/** Slack on the listing's start, for clocks and for deals written while the last run listed. */
const LISTING_SLACK_MS = 10 * 60_000;

/**
 * From when (wall-clock ms) this run lists the open deals, or undefined for all of them. A rule fires on
 * a deal once its checkout state has lasted the rule's delay, and the state's time is never later than
 * the deal's update time; so a deal not updated since the last run's start minus the longest delay had
 * every due rule fire on it in that run (which marks it, an update). Only the deals updated since then
 * can need a rule now: a run lists those, not the shop's whole backlog of abandoned checkouts. Everything
 * is listed again when there was no run that went through, when the rules or the pipeline changed, and
 * once a day.
 */
function listingStart(
	lastRun: RulesRecord['lastRun'],
	rulesKey: string,
	rules: FollowUpRule[],
	now: number,
): number | undefined {
	if (!lastRun || lastRun.rulesKey !== rulesKey || now - lastRun.fullAt >= FULL_LISTING_EVERY_MS)
		return undefined;
	const longestDelayMs = Math.max(0, ...rules.map((r) => r.afterMinutes * 60_000));
	return lastRun.at - longestDelayMs - LISTING_SLACK_MS;
}

/**
 * A run that stopped between marking a deal's rules and writing their activities' ids (a crash, n8n
 * killed, Pipedrive refusing the last write) left marks without ids. Each is finished here from the deal's
 * activities (a listing, consistent at once): the activity carrying the rule's marker is recorded (others
 * made for it deleted); a rule whose activity was never made is unmarked, so the plan fires it again if it
 * is still due. Changes the listed deals in place, so that the plan sees them as written.
 */
async function finishInterruptedRuns(
	client: PipedriveClient,
	fields: FieldKeys,
	deals: Deal[],
): Promise<void> {
	for (const deal of deals) {
		const applied = parseFollowUps(deal.custom_fields?.[fields.keys.followUps]);
		if (!applied.some((f) => !f.activityId)) continue;
		const activities = (await client.dealActivities(deal.id)).filter((a) => a.is_deleted !== true);
		const finished: typeof applied = [];
		for (const followUp of applied) {
			if (followUp.activityId) {
				finished.push(followUp);
				continue;
			}
			const marker = effectMarker('follow-up', deal.id, followUp.rule);
			const survivor = survivorOf(activities.filter((a) => hasMarker(a.note, marker)));
			if (!survivor) continue;
			for (const extra of survivor.extra) await client.deleteActivity(extra.id);
			finished.push({ rule: followUp.rule, activityId: survivor.keep.id });
		}
		const value = formatFollowUps(finished);
		await client.updateDeal(deal.id, { custom_fields: { [fields.keys.followUps]: value } });
		deal.custom_fields = { ...(deal.custom_fields ?? {}), [fields.keys.followUps]: value };
	}
}

/**
 * The activity of one rule on one deal, at most once even across n8n processes and lost answers: it carries
 * a marker; a create whose outcome is unknown looks for it before trying again; and after the create the
 * deal's activities are listed, so that of two made at once (two processes' runs) the oldest stays and
 * the other is deleted, by whichever process sees both.
 */
async function createActivityOnce(
	client: PipedriveClient,
	dealId: number,
	activity: PlannedActivity,
	personId: number | null,
): Promise<Row> {
	const marker = effectMarker('follow-up', dealId, activity.rule);
	const mine = async () =>
		(await client.dealActivities(dealId)).filter(
			(a) => hasMarker(a.note, marker) && a.is_deleted !== true,
		);
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

/** The open deals (of the pipeline, if one is set): all of them, or those updated since (wall-clock ms). */
async function listOpenDeals(
	client: PipedriveClient,
	pipelineId: number | undefined,
	updatedSince: number | undefined,
): Promise<Deal[]> {
	return await client.listDeals({
		status: 'open',
		...(pipelineId ? { pipeline_id: pipelineId } : {}),
		// Pipedrive's updated_since takes RFC 3339 without fractions of a second.
		...(updatedSince !== undefined
			? { updated_since: new Date(updatedSince).toISOString().replace(/\.\d{3}Z$/, 'Z') }
			: {}),
	});
}

/** An amount in its currency, for {{amount}}: one number format per currency for the whole run. */
function moneyFormatter(locale: string | undefined): (value: number, currency: string) => string {
	const formats = new Map<string, Intl.NumberFormat>();
	return (value, currency) => {
		let format = formats.get(currency);
		if (!format)
			formats.set(
				currency,
				(format = new Intl.NumberFormat(locale ?? 'pt-BR', {
					style: 'currency',
					currency,
				})),
			);
		return format.format(value);
	};
}

/** What the listing said of each deal with a checkout state: its person, and what the rules saw. */
type ListedDeals = Map<number, { personId: number | null; candidate: DealForRules }>;

function listedCandidates(deals: Deal[], fields: FieldKeys, options: RunRulesOptions): ListedDeals {
	const listed: ListedDeals = new Map();
	const money = moneyFormatter(options.locale);
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
				paymentLink:
					renewedLink(options, textField(deal.custom_fields, fields.keys.leadId)) ??
					textField(deal.custom_fields, fields.keys.paymentLink),
				leadId: textField(deal.custom_fields, fields.keys.leadId),
			},
		};
		listed.set(deal.id, { personId: deal.person_id, candidate });
	}
	return listed;
}

/** The rule engine's plan for the listed deals, with the buyer's name filled in where a template uses it. */
async function planActivities(
	client: PipedriveClient,
	rules: FollowUpRule[],
	listed: ListedDeals,
	now: Date,
	roundRobinStart: number,
): Promise<PlannedActivity[]> {
	const candidates = [...listed.values()].map((l) => l.candidate);
	// {{name}} is the buyer's name: fetched only for deals a rule fires on, and only if a template uses it.
	const usesName = rules.some((r) => /\{\{\s*name\s*\}\}/.test(r.subject + (r.note ?? '')));
	const planned0 = planFollowUps(rules, candidates, now, roundRobinStart);
	if (!usesName) return planned0;
	for (const dealId of new Set(planned0.map((p) => p.dealId))) {
		const { personId, candidate } = listed.get(dealId)!;
		if (personId) {
			const person = await client.request<{ name: string }>({
				method: 'GET',
				path: `/api/v2/persons/${personId}`,
			});
			candidate.fields.name = person.data.name;
		}
	}
	return planFollowUps(rules, candidates, now, roundRobinStart);
}

async function runRulesNow(
	client: PipedriveClient,
	account: string,
	rules: FollowUpRule[],
	options: RunRulesOptions,
	shared: PipedriveShared,
	/** List only the open deals updated since (wall-clock ms); all of them when undefined. */
	updatedSince?: number,
): Promise<RunRulesResult> {
	const fields = await checkoutFields(client, account, shared);
	const now = options.now ?? new Date();
	const deals = await listOpenDeals(client, options.pipelineId, updatedSince);
	if (!options.dryRun) await finishInterruptedRuns(client, fields, deals);
	const listed = listedCandidates(deals, fields, options);
	const roundRobinStart = options.roundRobinStart ?? 0;
	const planned = await planActivities(client, rules, listed, now, roundRobinStart);
	const result: RunRulesResult = {
		dealsChecked: listed.size,
		planned,
		created: [],
		errors: [],
		skipped: [],
		nextRoundRobin:
			roundRobinStart +
			planned.filter((p) => rules.find((r) => r.name === p.rule)?.owner.kind === 'roundRobin')
				.length,
	};
	if (options.dryRun) return result;

	const perDeal = new Map<number, PlannedActivity[]>();
	for (const p of planned) perDeal.set(p.dealId, [...(perDeal.get(p.dealId) ?? []), p]);
	for (const [dealId, dealPlan] of perDeal)
		await carryOutDealPlan(client, fields, dealId, dealPlan, listed, result);
	return result;
}

/**
 * One deal's planned activities, made if the deal still wants them: marked on the deal first, created,
 * then recorded with their ids. What is skipped, created or failed goes into `result`.
 */
async function carryOutDealPlan(
	client: PipedriveClient,
	fields: FieldKeys,
	dealId: number,
	dealPlan: PlannedActivity[],
	listed: ListedDeals,
	result: RunRulesResult,
): Promise<void> {
	// Read the deal again just before marking it: the listing may be minutes old by now (a long run,
	// rate limits), and a payment, a new checkout state or another process's run in between must win.
	const deal = await client.getDeal(dealId);
	const state = deal ? readCheckoutState(deal.custom_fields, fields) : undefined;
	const skip = (reason: string, which = dealPlan) =>
		result.skipped.push(...which.map((p) => ({ dealId, rule: p.rule, reason })));
	if (!deal || deal.status !== 'open' || !state || state.status === 'paid') {
		skip('paid or closed since the listing');
		return;
	}
	if (state.status !== listed.get(dealId)!.candidate.status) {
		skip('checkout state changed since the listing');
		return;
	}
	const applied = parseFollowUps(deal.custom_fields?.[fields.keys.followUps]);
	const activities = dealPlan.filter((p) => !applied.some((a) => a.rule === p.rule));
	skip(
		'fired since the listing',
		dealPlan.filter((p) => !activities.includes(p)),
	);
	if (!activities.length) return;
	// At most once: the deal records the rules before their activities exist. A crash between the two
	// loses an activity rather than creating it twice; a failed create takes its mark back.
	const marked = [...applied, ...activities.map((a) => ({ rule: a.rule }))];
	await client.updateDeal(dealId, {
		custom_fields: { [fields.keys.followUps]: formatFollowUps(marked) },
	});
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
	const written = await client.updateDeal(dealId, {
		custom_fields: { [fields.keys.followUps]: formatFollowUps(done) },
	});
	await closeIfPaidMeanwhile(client, fields, written, applied, done);
}

/**
 * Paid while the activities were being made: the payment's Apply read the deal before their ids
 * were written, so it could not close them; the deal as this write left it says so, and they are
 * closed here (applyEvent.ts closes those whose ids it sees; between the two, none stays open).
 */
async function closeIfPaidMeanwhile(
	client: PipedriveClient,
	fields: FieldKeys,
	/** The deal as the write of the activities' ids left it. */
	written: Deal | undefined,
	/** The follow-ups the deal had before this run: not this run's to close. */
	applied: AppliedFollowUp[],
	done: AppliedFollowUp[],
): Promise<void> {
	const stateNow = written ? readCheckoutState(written.custom_fields, fields) : undefined;
	if (written && (written.status !== 'open' || stateNow?.status === 'paid')) {
		for (const activity of done.filter(
			(a) => a.activityId && !applied.some((p) => p.rule === a.rule),
		))
			await client.updateActivity(activity.activityId!, { done: true });
	}
}
