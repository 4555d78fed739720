/** Run Follow-Up Rules: the rule engine's plan for the open checkout deals, made into activities at most once per deal and rule. */
import {
	planFollowUps,
	type DealForRules,
	type FollowUpRule,
	type PlannedActivity,
} from '../../checkout/rules';
import type { PipedriveClient, Row } from '../client';
import {
	checkRuleName,
	formatFollowUps,
	parseFollowUps,
	readCheckoutState,
	textField,
} from '../fields';
import { effectMarker, hasMarker, survivorOf, withMarker } from '../markers';
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

export async function runRules(
	client: PipedriveClient,
	account: string,
	rules: FollowUpRule[],
	options: RunRulesOptions = {},
): Promise<RunRulesResult> {
	rules.forEach((r) => checkRuleName(r.name));
	const previous = rulesRunsInFlight.get(account) ?? Promise.resolve();
	const run = previous
		.catch(() => undefined)
		.then(async () => await runRulesNow(client, account, rules, options));
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

async function runRulesNow(
	client: PipedriveClient,
	account: string,
	rules: FollowUpRule[],
	options: RunRulesOptions,
): Promise<RunRulesResult> {
	const fields = await checkoutFields(client, account);
	const now = options.now ?? new Date();
	const deals = await client.listDeals({
		status: 'open',
		...(options.pipelineId ? { pipeline_id: options.pipelineId } : {}),
	});
	// What the listing said of each deal with a checkout state: its person, and what the rules saw.
	const listed = new Map<number, { personId: number | null; candidate: DealForRules }>();
	const formats = new Map<string, Intl.NumberFormat>();
	const money = (value: number, currency: string) => {
		let format = formats.get(currency);
		if (!format)
			formats.set(
				currency,
				(format = new Intl.NumberFormat(options.locale ?? 'pt-BR', {
					style: 'currency',
					currency,
				})),
			);
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
				paymentLink:
					renewedLink(options, textField(deal.custom_fields, fields.keys.leadId)) ??
					textField(deal.custom_fields, fields.keys.paymentLink),
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
				const person = await client.request<{ name: string }>({
					method: 'GET',
					path: `/api/v2/persons/${personId}`,
				});
				candidate.fields.name = person.data.name;
			}
		}
	}
	const planned = usesName
		? planFollowUps(rules, candidates, now, options.roundRobinStart ?? 0)
		: planned0;
	const result: RunRulesResult = {
		dealsChecked: candidates.length,
		planned,
		created: [],
		errors: [],
		skipped: [],
		nextRoundRobin:
			(options.roundRobinStart ?? 0) +
			planned.filter((p) => rules.find((r) => r.name === p.rule)?.owner.kind === 'roundRobin')
				.length,
	};
	if (options.dryRun) return result;

	const perDeal = new Map<number, PlannedActivity[]>();
	for (const p of planned) perDeal.set(p.dealId, [...(perDeal.get(p.dealId) ?? []), p]);
	for (const [dealId, dealPlan] of perDeal) {
		// Read the deal again just before marking it: the listing may be minutes old by now (a long run,
		// rate limits), and a payment, a new checkout state or another process's run in between must win.
		const deal = await client.getDeal(dealId);
		const state = deal ? readCheckoutState(deal.custom_fields, fields) : undefined;
		const skip = (reason: string, which = dealPlan) =>
			result.skipped.push(...which.map((p) => ({ dealId, rule: p.rule, reason })));
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
		skip(
			'fired since the listing',
			dealPlan.filter((p) => !activities.includes(p)),
		);
		if (!activities.length) continue;
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
		// Paid while the activities were being made: the payment's Apply read the deal before their ids
		// were written, so it could not close them; the deal as this write left it says so, and they are
		// closed here (applyEvent.ts closes those whose ids it sees; between the two, none stays open).
		const stateNow = written ? readCheckoutState(written.custom_fields, fields) : undefined;
		if (written && (written.status !== 'open' || stateNow?.status === 'paid')) {
			for (const activity of done.filter(
				(a) => a.activityId && !applied.some((p) => p.rule === a.rule),
			))
				await client.updateActivity(activity.activityId!, { done: true });
		}
	}
	return result;
}
