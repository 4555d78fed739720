/**
 * The recovery report: what a shop owner asks of a cart-recovery tool ("how much did we recover?"), from
 * the checkout deals the pack keeps. Pure: the Pipedrive operation lists the deals and maps them to
 * ReportDeal; this counts them.
 *
 * Definitions, per deal whose lead was captured in the period (the deal's add time):
 *  - paid without help: its checkout is paid and no follow-up had fired on it;
 *  - recovered: paid after at least one follow-up activity fired (the rules never fire on a paid deal, so
 *    every follow-up on a paid deal came before the payment);
 *  - abandoned: the checkout was started (or is pending) and never paid; failed, expired and underpaid as
 *    the gateway last said;
 *  - revenue: the deal values of paid deals, per currency; revenue recovered is that of recovered deals;
 *  - time to pay: from the lead's capture to the deal's win.
 */
import type { CheckoutStatus } from './state';

export interface ReportDeal {
	/** When the lead was captured (the deal's add time), ISO. */
	capturedAt: string;
	/** When the deal was won, ISO, if it was. */
	wonAt?: string;
	checkoutStatus: CheckoutStatus;
	/** Follow-up rules that fired on the deal. */
	followUps: number;
	/** Major units, as Pipedrive keeps a deal's value. */
	value: number;
	currency: string;
	product?: string;
	/** The lead's UTM source. */
	source?: string;
}

export interface ReportCounts {
	leads: number;
	paid: number;
	paidWithoutHelp: number;
	recovered: number;
	abandoned: number;
	failed: number;
	expired: number;
	underpaid: number;
	/** recovered / (leads − paid without help): the share of the checkouts that needed help and were won back. */
	recoveryRate: number;
	/** Per currency, major units. */
	revenue: Record<string, number>;
	revenueRecovered: Record<string, number>;
	/** Median minutes from capture to payment, over the paid deals (null when none was paid). */
	medianMinutesToPay: number | null;
}

export interface CheckoutReport extends ReportCounts {
	period: { from: string; to: string };
	bySource: Array<{ source: string } & ReportCounts>;
	byProduct: Array<{ product: string } & ReportCounts>;
	/** Set when not every deal of the period could be read: what the figures leave out (shown, never silent). */
	incomplete?: string;
}

/** Deals without a UTM source or a product are grouped under this name. */
export const NONE = '(none)';

const round2 = (n: number) => Math.round(n * 100) / 100;

function median(values: number[]): number | null {
	if (values.length === 0) return null;
	const sorted = [...values].sort((a, b) => a - b);
	const mid = Math.floor(sorted.length / 2);
	return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function countDeals(deals: ReportDeal[]): ReportCounts {
	const counts: ReportCounts = {
		leads: deals.length,
		paid: 0,
		paidWithoutHelp: 0,
		recovered: 0,
		abandoned: 0,
		failed: 0,
		expired: 0,
		underpaid: 0,
		recoveryRate: 0,
		revenue: {},
		revenueRecovered: {},
		medianMinutesToPay: null,
	};
	const minutesToPay: number[] = [];
	const add = (into: Record<string, number>, deal: ReportDeal) => {
		into[deal.currency] = round2((into[deal.currency] ?? 0) + deal.value);
	};
	for (const deal of deals) {
		switch (deal.checkoutStatus) {
			case 'paid': {
				counts.paid++;
				add(counts.revenue, deal);
				if (deal.followUps > 0) {
					counts.recovered++;
					add(counts.revenueRecovered, deal);
				} else counts.paidWithoutHelp++;
				const captured = Date.parse(deal.capturedAt);
				const won = deal.wonAt ? Date.parse(deal.wonAt) : NaN;
				if (Number.isFinite(captured) && Number.isFinite(won) && won >= captured)
					minutesToPay.push((won - captured) / 60_000);
				break;
			}
			case 'started':
			case 'pending_payment':
				counts.abandoned++;
				break;
			case 'failed':
				counts.failed++;
				break;
			case 'expired':
				counts.expired++;
				break;
			case 'underpaid':
				counts.underpaid++;
				break;
		}
	}
	const needingHelp = counts.leads - counts.paidWithoutHelp;
	counts.recoveryRate = needingHelp > 0 ? round2(counts.recovered / needingHelp) : 0;
	const m = median(minutesToPay);
	counts.medianMinutesToPay = m === null ? null : round2(m);
	return counts;
}

function groupBy<K extends string>(
	deals: ReportDeal[],
	keyOf: (d: ReportDeal) => string | undefined,
	name: K,
): Array<Record<K, string> & ReportCounts> {
	const groups = new Map<string, ReportDeal[]>();
	for (const deal of deals) {
		const key = keyOf(deal)?.trim() || NONE;
		groups.set(key, [...(groups.get(key) ?? []), deal]);
	}
	return [...groups.entries()]
		.map(
			([key, group]) => ({ [name]: key, ...countDeals(group) }) as Record<K, string> & ReportCounts,
		)
		.sort((a, b) => b.leads - a.leads || a[name].localeCompare(b[name]));
}

/** The report of the deals captured in [from, to). Deals captured outside it are left out. */
export function buildReport(deals: ReportDeal[], period: { from: Date; to: Date }): CheckoutReport {
	const inPeriod = deals.filter((d) => {
		const t = Date.parse(d.capturedAt);
		return t >= period.from.getTime() && t < period.to.getTime();
	});
	return {
		period: { from: period.from.toISOString(), to: period.to.toISOString() },
		...countDeals(inPeriod),
		bySource: groupBy(inPeriod, (d) => d.source, 'source'),
		byProduct: groupBy(inPeriod, (d) => d.product, 'product'),
	};
}

export type ReportPeriod = 'last7Days' | 'last30Days' | 'thisMonth' | 'lastMonth' | 'custom';

/** The [from, to) of a named period, in UTC, as of `now`. */
export function periodRange(
	period: ReportPeriod,
	now: Date,
	custom?: { from?: string; to?: string },
): { from: Date; to: Date } {
	const day = 86_400_000;
	switch (period) {
		case 'last7Days':
			return { from: new Date(now.getTime() - 7 * day), to: now };
		case 'last30Days':
			return { from: new Date(now.getTime() - 30 * day), to: now };
		case 'thisMonth':
			return { from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), to: now };
		case 'lastMonth':
			return {
				from: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)),
				to: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)),
			};
		case 'custom': {
			const from = new Date(custom?.from ?? '');
			const to = custom?.to ? new Date(custom.to) : now;
			if (Number.isNaN(from.getTime()))
				throw new Error('The report period needs a valid "From" date (for example 2026-11-01)');
			if (Number.isNaN(to.getTime()) || to <= from)
				throw new Error('The report period\'s "To" must be a valid date after "From"');
			return { from, to };
		}
	}
}

/** The weekly summary as a line of text for e-mail or Slack. */
export function summaryText(report: CheckoutReport, locale = 'pt-BR'): string {
	const money = (amounts: Record<string, number>) =>
		Object.entries(amounts)
			.map(([currency, value]) =>
				new Intl.NumberFormat(locale, { style: 'currency', currency }).format(value),
			)
			.join(' + ') || '0';
	const day = (iso: string) => iso.slice(0, 10);
	const pct = `${Math.round(report.recoveryRate * 100)}%`;
	const topSource = report.bySource[0];
	return [
		`Checkouts ${day(report.period.from)} – ${day(report.period.to)}: ${report.leads} leads, ${report.paid} paid (${report.paidWithoutHelp} without help, ${report.recovered} recovered by follow-ups).`,
		`Revenue recovered: ${money(report.revenueRecovered)} of ${money(report.revenue)}; recovery rate ${pct}.`,
		`Still open: ${report.abandoned} abandoned, ${report.failed} failed, ${report.expired} expired, ${report.underpaid} underpaid.`,
		report.medianMinutesToPay === null
			? 'No payment in the period.'
			: `Median time to pay: ${formatMinutes(report.medianMinutesToPay)}.`,
		topSource
			? `Top source: ${topSource.source} (${topSource.leads} leads, ${topSource.paid} paid).`
			: '',
		report.incomplete ? `Incomplete: ${report.incomplete}` : '',
	]
		.filter(Boolean)
		.join('\n');
}

export function formatMinutes(minutes: number): string {
	if (minutes < 60) return `${Math.round(minutes)} min`;
	if (minutes < 48 * 60) return `${(minutes / 60).toFixed(1)} h`;
	return `${(minutes / 1440).toFixed(1)} days`;
}
