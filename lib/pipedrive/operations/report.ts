/**
 * Checkout Report: the recovery report (lib/checkout/report) of the checkout deals captured in a period,
 * from one listing: the deals updated since the period began (a deal captured in the period was updated
 * in it too), 500 per page, plus the deal fields when they are not cached. No call per deal: the report
 * costs 10 tokens per 500 deals listed (Pipedrive's v2 list cost), whatever the period holds.
 */
import { buildReport, type CheckoutReport, type ReportDeal } from '../../checkout/report';
import type { Deal, PipedriveClient } from '../client';
import { parseFollowUps, readCheckoutState, textField } from '../fields';
import { checkoutFields } from './setup';

export interface ReportOptions {
	period: { from: Date; to: Date };
	pipelineId?: number;
}

export interface ReportResult {
	report: CheckoutReport;
	/** Deals listed (any status) to build it. */
	dealsListed: number;
}

/** Pages of 500 deals one report reads at most (50,000 deals updated in the period); past it, it says so. */
export const REPORT_MAX_PAGES = 100;

/** Pipedrive keeps times as "2026-11-30 12:00:00" (UTC) in v1 and RFC 3339 in v2: both to ISO. */
function isoOf(value: unknown): string | undefined {
	if (typeof value !== 'string' || !value) return undefined;
	const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(' ', 'T')}Z`);
	return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}

export async function checkoutReport(
	client: PipedriveClient,
	account: string,
	options: ReportOptions & { maxPages?: number; pageSize?: number },
): Promise<ReportResult> {
	const fields = await checkoutFields(client, account);
	// Pipedrive's updated_since takes RFC 3339 without fractions of a second.
	const since = options.period.from.toISOString().replace(/\.\d{3}Z$/, 'Z');
	const listed = await client.listUpTo<Deal>(
		'/api/v2/deals',
		{
			updated_since: since,
			limit: options.pageSize ?? 500,
			...(options.pipelineId ? { pipeline_id: options.pipelineId } : {}),
		},
		options.maxPages ?? REPORT_MAX_PAGES,
	);
	const deals = listed.rows;
	const reportDeals: ReportDeal[] = [];
	for (const deal of deals) {
		// Only the pack's checkout deals: a deal made by hand has no lead id or checkout state.
		if (!textField(deal.custom_fields, fields.keys.leadId)) continue;
		const state = readCheckoutState(deal.custom_fields, fields);
		const capturedAt = isoOf(deal.add_time);
		if (!state || !capturedAt) continue;
		reportDeals.push({
			capturedAt,
			wonAt: isoOf(deal.won_time),
			checkoutStatus: state.status,
			followUps: parseFollowUps(deal.custom_fields?.[fields.keys.followUps]).length,
			value: Number(deal.value) || 0,
			currency: deal.currency || 'BRL',
			product: textField(deal.custom_fields, fields.keys.product),
			source: textField(deal.custom_fields, fields.keys.source),
		});
	}
	const report = buildReport(reportDeals, options.period);
	if (listed.truncated)
		report.incomplete = `only the first ${deals.length} deals updated since ${since} were read (the listing stops after ${options.maxPages ?? REPORT_MAX_PAGES} pages): choose a shorter period or a pipeline`;
	return { report, dealsListed: deals.length };
}
