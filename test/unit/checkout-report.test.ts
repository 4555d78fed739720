import {
	buildReport,
	countDeals,
	NONE,
	periodRange,
	summaryText,
	type ReportDeal,
} from '../../lib/checkout/report';
import { renderReportHtml } from '../../lib/checkout/reportHtml';
import { escapeHtml } from '../../lib/html/escape';

const T0 = Date.parse('2026-11-20T12:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function deal(over: Partial<ReportDeal>): ReportDeal {
	return {
		capturedAt: at(0),
		checkoutStatus: 'started',
		followUps: 0,
		value: 199.9,
		currency: 'BRL',
		product: 'Curso de fotografia',
		source: 'instagram',
		...over,
	};
}

describe('countDeals', () => {
	it('tells paid without help from recovered by whether a follow-up fired, and sums revenue per currency', () => {
		const counts = countDeals([
			deal({ checkoutStatus: 'paid', wonAt: at(10) }),
			deal({ checkoutStatus: 'paid', wonAt: at(90), followUps: 1 }),
			deal({ checkoutStatus: 'paid', wonAt: at(30), followUps: 2, value: 497, currency: 'BRL' }),
			deal({ checkoutStatus: 'paid', wonAt: at(20), value: 50, currency: 'USD' }),
			deal({ checkoutStatus: 'started' }),
			deal({ checkoutStatus: 'pending_payment', followUps: 1 }),
			deal({ checkoutStatus: 'failed', followUps: 1 }),
			deal({ checkoutStatus: 'expired' }),
			deal({ checkoutStatus: 'underpaid' }),
		]);
		expect(counts).toMatchObject({
			leads: 9,
			paid: 4,
			paidWithoutHelp: 2,
			recovered: 2,
			abandoned: 2,
			failed: 1,
			expired: 1,
			underpaid: 1,
			revenue: { BRL: 896.8, USD: 50 },
			revenueRecovered: { BRL: 696.9 },
			// 10, 20, 30, 90 minutes: the median of an even count is the mean of the middle two.
			medianMinutesToPay: 25,
		});
		// 2 recovered of the 7 that did not pay on their own.
		expect(counts.recoveryRate).toBe(0.29);
	});

	it('has no median and no rate when nothing was paid or nothing needed help', () => {
		expect(countDeals([deal({ checkoutStatus: 'started' })])).toMatchObject({
			medianMinutesToPay: null,
			recoveryRate: 0,
			revenue: {},
		});
		expect(countDeals([deal({ checkoutStatus: 'paid', wonAt: at(5) })]).recoveryRate).toBe(0);
		expect(countDeals([])).toMatchObject({ leads: 0, medianMinutesToPay: null });
	});

	it('leaves a win time before the capture (a deal edited by hand) out of the median', () => {
		expect(
			countDeals([
				deal({ checkoutStatus: 'paid', wonAt: at(-60) }),
				deal({ checkoutStatus: 'paid', wonAt: at(40) }),
			]).medianMinutesToPay,
		).toBe(40);
	});
});

describe('buildReport', () => {
	const period = { from: new Date(at(0)), to: new Date(at(24 * 60)) };

	it('counts only the leads captured in [from, to) and groups them by source and product', () => {
		const report = buildReport(
			[
				deal({ capturedAt: at(-1) }), // before the period
				deal({ capturedAt: at(24 * 60) }), // at its end: excluded
				deal({ capturedAt: at(0), checkoutStatus: 'paid', wonAt: at(5) }),
				deal({
					capturedAt: at(60),
					source: 'google',
					checkoutStatus: 'paid',
					wonAt: at(80),
					followUps: 1,
				}),
				deal({ capturedAt: at(61), source: 'google', product: 'Mentoria', value: 497 }),
				deal({ capturedAt: at(62), source: undefined, product: undefined }),
			],
			period,
		);
		expect(report.leads).toBe(4);
		expect(report.period).toEqual({ from: at(0), to: at(24 * 60) });
		expect(report.bySource.map((g) => [g.source, g.leads, g.paid, g.recovered])).toEqual([
			['google', 2, 1, 1],
			[NONE, 1, 0, 0],
			['instagram', 1, 1, 0],
		]);
		expect(report.byProduct.map((g) => [g.product, g.leads])).toEqual([
			['Curso de fotografia', 2],
			[NONE, 1],
			['Mentoria', 1],
		]);
		expect(report.revenueRecovered).toEqual({ BRL: 199.9 });
	});
});

describe('periodRange', () => {
	const now = new Date('2026-12-01T10:00:00Z');
	it('names periods in UTC', () => {
		expect(periodRange('last7Days', now)).toEqual({
			from: new Date('2026-11-24T10:00:00Z'),
			to: now,
		});
		expect(periodRange('thisMonth', now).from).toEqual(new Date('2026-12-01T00:00:00Z'));
		expect(periodRange('lastMonth', now)).toEqual({
			from: new Date('2026-11-01T00:00:00Z'),
			to: new Date('2026-12-01T00:00:00Z'),
		});
		expect(periodRange('custom', now, { from: '2026-11-10' })).toEqual({
			from: new Date('2026-11-10T00:00:00Z'),
			to: now,
		});
	});
	it('refuses a custom period without a valid From or with To before it', () => {
		expect(() => periodRange('custom', now, {})).toThrow(/From/);
		expect(() => periodRange('custom', now, { from: '2026-11-10', to: '2026-11-01' })).toThrow(
			/To/,
		);
	});
});

describe('the summary and the HTML page', () => {
	const report = buildReport(
		[
			deal({ checkoutStatus: 'paid', wonAt: at(5) }),
			deal({
				checkoutStatus: 'paid',
				wonAt: at(125),
				followUps: 1,
				source: '<script>alert(1)</script>',
			}),
			deal({ checkoutStatus: 'failed', product: 'Mentoria "VIP" & <b>co</b>' }),
		],
		{ from: new Date(at(0)), to: new Date(at(60 * 24)) },
	);

	it('says the week in a few lines', () => {
		const text = summaryText(report);
		expect(text).toContain('3 leads, 2 paid (1 without help, 1 recovered by follow-ups)');
		expect(text).toMatch(/Revenue recovered: R\$\s?199,90 of R\$\s?399,80; recovery rate 50%/);
		expect(text).toContain('Median time to pay: 1.1 h'); // 5 and 125 minutes
	});

	it('escapes every buyer-given text: a UTM source or product cannot inject markup', () => {
		const html = renderReportHtml(report);
		expect(html).not.toContain('<script>');
		expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
		expect(html).toContain('Mentoria &quot;VIP&quot; &amp; &lt;b&gt;co&lt;/b&gt;');
		expect(html).toContain('<svg');
		expect(html).toMatch(/id="recovered">1</);
		expect(html).toMatch(/id="leads">3</);
		expect(escapeHtml(`'"<>&`)).toBe('&#39;&quot;&lt;&gt;&amp;');
	});
});
