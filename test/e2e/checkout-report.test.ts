/**
 * The recovery report through the real n8n, against a known set of leads and events: the payment event
 * processor and the follow-up rules (exported workflows) turn them into deals in the Pipedrive stand-in,
 * then the exported report workflow serves the page to a signed report link only, and the Checkout Report
 * operation's item is read as the weekly summary would be.
 *
 * The set (all captured now, so in "last 7 days"):
 *  - A (instagram, Curso): paid on its own             → paid without help
 *  - B (google, Curso): failed, followed up, then paid → recovered (R$ 197,90)
 *  - C (google, Mentoria R$ 497): failed, followed up  → failed
 *  - D (instagram, Curso): captured 2 h ago, no payment → abandoned (followed up)
 *  - E (no UTM, Curso): expired                        → expired
 *  - F (a source with markup, Curso): paid on its own  → paid without help; its source shown escaped
 */
import { HTML_CSP_META, HTML_SECURITY_HEADERS } from '../../lib/html/securityHeaders';
import { reportLinkFor } from '../../lib/links/checkoutLinks';
import type { ChannelModel } from 'amqplib';

import { LOCAL_LINKS_SECRET } from '../../testbench/credentials';
import { E2eStack } from '../../testbench/e2eStack';
import type { N8nInstance } from '../../testbench/n8n';
import { waitFor } from '../../testbench/ports';
import { publishConfirmed, uniqueTopology } from '../../testbench/rabbitmq';
import type { PipedriveStandIn } from '../../testbench/standins/pipedrive';
import {
	exportedWorkflowForTest,
	rulesWorkflowFailedAtOnce,
	webhookThroughNode,
} from '../../testbench/workflows';

jest.setTimeout(600_000);

const topology = uniqueTopology('e2e-report');
const BUCKET = 'report';
const PREFIX = 'e2e-report';
const HOSTILE_SOURCE = '<img src=x onerror=alert(1)>';
let broker: ChannelModel;
let pd: PipedriveStandIn;
let n8n: N8nInstance;
let stack: E2eStack;

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const LEADS = {
	A: { id: '0194f0c2-a000-7000-8000-00000000000a', source: 'instagram', product: 'Curso' },
	B: { id: '0194f0c2-b000-7000-8000-00000000000b', source: 'google', product: 'Curso' },
	C: { id: '0194f0c2-c000-7000-8000-00000000000c', source: 'google', product: 'Mentoria' },
	D: { id: '0194f0c2-d000-7000-8000-00000000000d', source: 'instagram', product: 'Curso' },
	E: { id: '0194f0c2-e000-7000-8000-00000000000e', source: undefined, product: 'Curso' },
	F: { id: '0194f0c2-f000-7000-8000-00000000000f', source: HOSTILE_SOURCE, product: 'Curso' },
} as const;
type LeadName = keyof typeof LEADS;
const amountOf = (name: LeadName) => (LEADS[name].product === 'Mentoria' ? 49700 : 19790);

async function consumerCount(connection = broker): Promise<number> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	try {
		return (await channel.checkQueue(topology.queue)).consumerCount;
	} catch {
		return 0;
	} finally {
		await channel.close().catch(() => undefined);
	}
}

async function publish(body: object, source: string, messageId: string): Promise<void> {
	await publishConfirmed(broker, topology, [
		{ body, messageId, headers: { 'x-source': source, 'x-received-at': new Date().toISOString() } },
	]);
}

async function publishLead(name: LeadName, capturedAt: string): Promise<void> {
	const { id, source, product } = LEADS[name];
	await publish(
		{
			leadId: id,
			type: 'lead.captured',
			capturedAt,
			name: `Buyer ${name}`,
			email: `buyer-${name.toLowerCase()}@example.com`,
			phone: '+5511987654321',
			product,
			amount: amountOf(name),
			currency: 'BRL',
			consent: { given: true },
			utm: source ? { utm_source: source } : {},
			form: { kind: 'fields', name: 'Checkout' },
		},
		'lead',
		id,
	);
}

async function publishPayment(name: LeadName, type: string): Promise<void> {
	const leadRef = LEADS[name].id;
	const eventId = `stripe:${leadRef}:${type}`;
	await publish(
		{
			eventId,
			type,
			leadRef,
			occurredAt: new Date().toISOString(),
			provider: 'stripe',
			providerRef: `cs_${name}`,
			amount: amountOf(name),
			currency: 'BRL',
			providerEventType: `checkout.session.${type}`,
			raw: {},
		},
		'stripe',
		eventId,
	);
}

const fieldKey = (name: string) => pd.state.dealFields.find((f) => f.name === name)?.key as string;
const dealOf = (name: LeadName) =>
	pd.state.deals.find(
		(d) =>
			(d.custom_fields as Record<string, unknown>)?.[fieldKey('Checkout lead id')] ===
			LEADS[name].id,
	);
const statusOf = (name: LeadName) => {
	const deal = dealOf(name);
	const field = pd.state.dealFields.find((f) => f.name === 'Checkout status');
	if (!deal || !field) return undefined;
	const id = (deal.custom_fields as Record<string, unknown>)[field.key as string];
	return (field.options as Array<{ id: number; label: string }>).find((o) => o.id === id)?.label;
};
const followUpsOf = (name: LeadName) =>
	pd.state.activities.filter((a) => a.deal_id === dealOf(name)?.id).length;

async function until(what: string, check: () => boolean): Promise<void> {
	try {
		await waitFor(what, async () => (check() ? true : undefined), { timeoutMs: 120_000 });
	} catch (error) {
		// What the stand-in holds and what n8n said, to read a failure from.
		throw new Error(
			`${(error as Error).message}\nfields: ${pd.state.dealFields.map((f) => f.name).join(', ')}\ndeals: ${JSON.stringify(
				(Object.keys(LEADS) as LeadName[]).map((n) => [
					n,
					dealOf(n)?.status,
					statusOf(n),
					followUpsOf(n),
				]),
			)}\n${n8n
				.log()
				.split('\n')
				.filter((l) => /rror|Checkout/.test(l))
				.slice(-30)
				.join('\n')}`,
		);
	}
}

beforeAll(async () => {
	stack = await E2eStack.start({
		s3: { bucket: BUCKET },
		topology,
		pipedrive: true,
		gateways: true,
		links: 'https://shop-n8n.example/webhook/checkout/pay',
		workflows: [
			exportedWorkflowForTest('payment-event-processor.json', {
				topology,
				prefix: PREFIX,
				retryDelaySeconds: 1,
			}),
			rulesWorkflowFailedAtOnce(2),
			exportedWorkflowForTest('checkout-report.json', {}),
			// The operation's item as the weekly summary gets it (the shipped schedule runs on Mondays).
			webhookThroughNode('crTestReportJson', 'test/report-json', {
				type: 'n8n-nodes-checkout-recovery.pipedriveFollowUp',
				parameters: { operation: 'checkoutReport', period: 'last7Days', reportOptions: {} },
				credentials: {
					checkoutPipedriveApi: { id: 'crPipedriveCred1', name: 'Checkout Pipedrive' },
					checkoutLinksApi: { id: 'crLinksCred00001', name: 'Checkout Links' },
				},
			}),
		],
		// Ready once the report page answers (404 without a signed link) and the trigger consumes (it declares the queue).
		ready: async (instance, { broker: connection }) =>
			(await fetch(instance.webhookUrl('checkout/report')).catch(() => undefined))?.status ===
				404 && (await consumerCount(connection)) > 0,
	});
	({ n8n, broker, pd } = stack);
});

afterAll(async () => {
	await stack?.stop();
});

it('turns the known leads and events into the deals the report will count', async () => {
	for (const name of ['A', 'B', 'C', 'E', 'F'] as const)
		await publishLead(name, new Date().toISOString());
	// Captured two hours ago: the "abandoned after 1 hour" rule fires on it.
	await publishLead('D', hoursAgo(2));
	await publishPayment('A', 'paid');
	await publishPayment('F', 'paid');
	await publishPayment('B', 'failed');
	await publishPayment('C', 'failed');
	await publishPayment('E', 'expired');
	await until('B and C followed up, D followed up as abandoned', () =>
		(['B', 'C', 'D'] as const).every((n) => followUpsOf(n) > 0),
	);
	// B is paid after its follow-up: recovered.
	await publishPayment('B', 'paid');
	await until('A, B and F won', () =>
		(['A', 'B', 'F'] as const).every((n) => dealOf(n)?.status === 'won'),
	);
	expect(
		Object.fromEntries((Object.keys(LEADS) as LeadName[]).map((n) => [n, statusOf(n)])),
	).toEqual({
		A: 'Paid',
		B: 'Paid',
		C: 'Failed',
		D: 'Started',
		E: 'Expired',
		F: 'Paid',
	});
	expect(followUpsOf('A') + followUpsOf('F')).toBe(0);
});

it('serves the report page only to a signed, unexpired link (bookmarkable: no header), and its numbers are those of the known set', async () => {
	const url = n8n.webhookUrl('checkout/report');
	const signed = (now = Date.now()) =>
		new URL(
			reportLinkFor(
				{ secret: LOCAL_LINKS_SECRET, payUrl: 'https://shop-n8n.example/webhook/checkout/pay' },
				now,
			).url,
		).search;
	const refused = await fetch(url);
	expect(refused.status).toBe(404);
	const refusedPage = await refused.text();
	const valid = new URLSearchParams(signed());
	for (const attempt of [
		`?until=${valid.get('until')}&key=${valid.get('key')}&sig=${'A'.repeat(32)}`,
		`?until=${(Date.now() + 365 * 86_400_000).toString(36)}&key=${valid.get('key')}&sig=${valid.get('sig')}`,
		signed(Date.now() - 31 * 86_400_000),
	]) {
		const res = await fetch(`${url}${attempt}`);
		expect({ attempt, status: res.status }).toEqual({ attempt, status: 404 });
		expect(await res.text()).toBe(refusedPage);
	}
	const res = await fetch(`${url}${signed()}&period=%3Cscript%3E`);
	expect(res.status).toBe(200);
	expect(res.headers.get('content-type')).toMatch(/^text\/html/);
	expect(res.headers.get('cache-control')).toBe('no-store');
	for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS))
		expect(res.headers.get(name)).toBe(value);
	const html = await res.text();
	expect(html).toContain(HTML_CSP_META);
	const card = (id: string) => new RegExp(`id="${id}">([^<]*)<`).exec(html)?.[1];
	expect({
		leads: card('leads'),
		paidWithoutHelp: card('paid-without-help'),
		recovered: card('recovered'),
		abandoned: card('abandoned'),
		failed: card('failed'),
		expired: card('expired'),
		recoveryRate: card('recovery-rate'),
	}).toEqual({
		leads: '6',
		paidWithoutHelp: '2',
		recovered: '1',
		abandoned: '1',
		failed: '1',
		expired: '1',
		// 1 recovered of the 4 that did not pay on their own
		recoveryRate: '25%',
	});
	expect(card('revenue-recovered')).toMatch(/^R\$\s197,90$/);
	expect(html).toContain('<svg');
	// A source from a buyer's form is text on the page, never markup.
	expect(html).not.toContain(HOSTILE_SOURCE);
	expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
});

it('gives the weekly summary item from one listing, by source and by product', async () => {
	const res = await fetch(n8n.webhookUrl('test/report-json'), { method: 'POST' });
	expect(res.status).toBe(200);
	const item = (await res.json()) as {
		leads: number;
		recovered: number;
		revenueRecovered: Record<string, number>;
		revenue: Record<string, number>;
		medianMinutesToPay: number | null;
		bySource: Array<{ source: string; leads: number; paid: number; recovered: number }>;
		byProduct: Array<{ product: string; leads: number; failed: number }>;
		summary: string;
		pipedriveCalls: number;
		dealsListed: number;
		reportLink: string;
		reportLinkExpiresAt: string;
	};
	// The summary carries a signed link to the page (at the shop's public address), valid 30 days.
	const link = new URL(item.reportLink);
	expect(link.origin + link.pathname).toBe('https://shop-n8n.example/webhook/checkout/report');
	expect(Date.parse(item.reportLinkExpiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
	expect((await fetch(`${n8n.webhookUrl('checkout/report')}${link.search}`)).status).toBe(200);
	expect(item).toMatchObject({
		leads: 6,
		recovered: 1,
		revenueRecovered: { BRL: 197.9 },
		revenue: { BRL: 593.7 },
		dealsListed: 6,
	});
	expect(item.medianMinutesToPay).toEqual(expect.any(Number));
	expect(item.bySource.map((g) => [g.source, g.leads, g.paid, g.recovered])).toEqual([
		['google', 2, 1, 1],
		['instagram', 2, 1, 0],
		['(none)', 1, 0, 0],
		[HOSTILE_SOURCE, 1, 1, 0],
	]);
	expect(item.byProduct.map((g) => [g.product, g.leads, g.failed])).toEqual([
		['Curso', 5, 0],
		['Mentoria', 1, 1],
	]);
	expect(item.summary).toContain('6 leads, 3 paid (2 without help, 1 recovered by follow-ups)');
	// The deal fields (first use in this process) and one page of deals: no call per deal.
	expect(item.pipedriveCalls).toBeLessThanOrEqual(2);
});
