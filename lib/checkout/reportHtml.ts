/**
 * The recovery report as one self-contained HTML page (no script, no outside resource), with a small SVG
 * chart: the shop owner opens it from a bookmark. Pure. Every text that came from a buyer (UTM sources,
 * product names) is HTML-escaped: anyone can post a form with `utm_source=<script>`.
 */
import { escapeHtml } from '../html/escape';
import { HTML_CSP_META } from '../html/securityHeaders';
import { formatMinutes, NONE, type CheckoutReport, type ReportCounts } from './report';

function money(amounts: Record<string, number>, locale: string): string {
	const parts = Object.entries(amounts).map(([currency, value]) =>
		new Intl.NumberFormat(locale, { style: 'currency', currency }).format(value),
	);
	return parts.length ? parts.join(' + ') : '–';
}

const pct = (n: number) => `${Math.round(n * 100)}%`;

/** Horizontal bars per group: leads, paid without help and recovered, to the same scale. */
function chart(groups: Array<{ name: string; counts: ReportCounts }>): string {
	const shown = groups.slice(0, 8);
	if (shown.length === 0) return '';
	const max = Math.max(1, ...shown.map((g) => g.counts.leads));
	const rowHeight = 34;
	const labelWidth = 160;
	const barWidth = 420;
	const height = shown.length * rowHeight + 30;
	const bar = (y: number, value: number, offset: number, cls: string) =>
		value > 0
			? `<rect class="${cls}" x="${labelWidth + (offset / max) * barWidth}" y="${y}" width="${(value / max) * barWidth}" height="12"/>`
			: '';
	const rows = shown
		.map(({ name, counts }, i) => {
			const y = i * rowHeight + 8;
			return [
				`<text x="${labelWidth - 8}" y="${y + 18}" text-anchor="end">${escapeHtml(name.slice(0, 24))}</text>`,
				bar(y, counts.leads, 0, 'leads'),
				bar(y + 14, counts.paidWithoutHelp, 0, 'paid'),
				bar(y + 14, counts.recovered, counts.paidWithoutHelp, 'recovered'),
				`<text x="${labelWidth + (counts.leads / max) * barWidth + 6}" y="${y + 11}" class="n">${counts.leads}</text>`,
			].join('');
		})
		.join('\n');
	const legendY = shown.length * rowHeight + 22;
	return `<svg role="img" aria-label="Leads, paid and recovered by source" viewBox="0 0 ${labelWidth + barWidth + 60} ${height}" width="100%">
${rows}
<rect class="leads" x="${labelWidth}" y="${legendY - 10}" width="12" height="12"/><text x="${labelWidth + 16}" y="${legendY}">leads</text>
<rect class="paid" x="${labelWidth + 80}" y="${legendY - 10}" width="12" height="12"/><text x="${labelWidth + 96}" y="${legendY}">paid without help</text>
<rect class="recovered" x="${labelWidth + 230}" y="${legendY - 10}" width="12" height="12"/><text x="${labelWidth + 246}" y="${legendY}">recovered</text>
</svg>`;
}

function table(
	title: string,
	rows: Array<{ name: string; counts: ReportCounts }>,
	locale: string,
): string {
	return `<h2>${escapeHtml(title)}</h2>
<table>
<thead><tr><th>${escapeHtml(title.replace(/^By /, ''))}</th><th>Leads</th><th>Paid without help</th><th>Recovered</th><th>Abandoned</th><th>Failed</th><th>Expired</th><th>Revenue recovered</th></tr></thead>
<tbody>
${rows
	.map(
		({ name, counts }) =>
			`<tr><td>${escapeHtml(name)}</td><td>${counts.leads}</td><td>${counts.paidWithoutHelp}</td><td>${counts.recovered}</td><td>${counts.abandoned}</td><td>${counts.failed}</td><td>${counts.expired}</td><td>${escapeHtml(money(counts.revenueRecovered, locale))}</td></tr>`,
	)
	.join('\n')}
</tbody>
</table>`;
}

export function renderReportHtml(report: CheckoutReport, locale = 'pt-BR'): string {
	const day = (iso: string) => iso.slice(0, 10);
	const card = (label: string, value: string, id: string) =>
		`<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value" id="${id}">${escapeHtml(value)}</div></div>`;
	const bySource = report.bySource.map((g) => ({ name: g.source, counts: g }));
	const byProduct = report.byProduct.map((g) => ({ name: g.product, counts: g }));
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>Checkout recovery report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2933}
h1{font-size:1.5rem;margin-bottom:.25rem}.period{color:#52606d;margin-top:0}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.75rem;margin:1.5rem 0}
.reason{border-left:4px solid #d64545;padding:.5rem 1rem;background:#fff5f5}
.card{border:1px solid #d9e2ec;border-radius:.5rem;padding:.75rem}.label{color:#52606d;font-size:.85rem}.value{font-size:1.4rem;font-weight:600}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}th,td{border-bottom:1px solid #e4e7eb;padding:.4rem;text-align:right}th:first-child,td:first-child{text-align:left}
svg text{font-size:12px;fill:#1f2933}.leads{fill:#9fb3c8}.paid{fill:#3e7cb1}.recovered{fill:#2f9e44}.n{fill:#52606d}
</style></head>
<body>
<h1>Checkout recovery</h1>
<p class="period">Leads captured from ${escapeHtml(day(report.period.from))} to ${escapeHtml(day(report.period.to))} (UTC)</p>
${report.incomplete ? `<p class="reason" id="incomplete"><b>Incomplete:</b> ${escapeHtml(report.incomplete)}</p>` : ''}
<div class="cards">
${card('Leads captured', String(report.leads), 'leads')}
${card('Paid without help', String(report.paidWithoutHelp), 'paid-without-help')}
${card('Recovered by follow-ups', String(report.recovered), 'recovered')}
${card('Revenue recovered', money(report.revenueRecovered, locale), 'revenue-recovered')}
${card('Recovery rate', pct(report.recoveryRate), 'recovery-rate')}
${card('Median time to pay', report.medianMinutesToPay === null ? '–' : formatMinutes(report.medianMinutesToPay), 'median-time-to-pay')}
${card('Abandoned', String(report.abandoned), 'abandoned')}
${card('Failed', String(report.failed), 'failed')}
${card('Expired', String(report.expired), 'expired')}
</div>
<h2>By source</h2>
${chart(bySource)}
${table('By source', bySource, locale)}
${table('By product', byProduct, locale)}
<p class="period">Deals without a UTM source or product are under ${escapeHtml(NONE)}. Revenue is the deals' values in Pipedrive.</p>
</body></html>
`;
}

/**
 * The report page when the report cannot be made (Pipedrive not set up, refusing the credential, down):
 * what is missing and where to set it, so that a shop owner opening the page is not left with a bare
 * "Error in workflow". The reason is the pack's own error text (redacted of personal data).
 */
export function renderReportUnavailableHtml(reason: string): string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>Checkout recovery report: not available</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2933}.reason{border-left:4px solid #d64545;padding:.5rem 1rem;background:#fff5f5}</style>
</head><body>
<h1>Checkout recovery report: not available</h1>
<p>The report reads the checkout deals from Pipedrive, and that did not work:</p>
<p class="reason" id="reason">${escapeHtml(reason)}</p>
<p>Set the Pipedrive API token and company domain in n8n (Credentials, "Checkout Pipedrive"), or in <code>.env</code> (PIPEDRIVE_API_TOKEN, PIPEDRIVE_COMPANY_DOMAIN) followed by <code>docker compose up -d</code>, then open this page again.</p>
</body></html>`;
}

/** One answer for every report link that opens nothing (missing, forged, expired): it tells nothing more. */
export function renderReportLinkUnavailableHtml(): string {
	return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>Checkout recovery report: link not valid</title>
</head><body>
<h1>This report link is not valid</h1>
<p>It may have expired. Open the link in the latest weekly summary, or run the report workflow in n8n to get a new one.</p>
</body></html>`;
}
