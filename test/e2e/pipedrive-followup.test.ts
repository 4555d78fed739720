/**
 * The exported payment event processor and follow-up rules workflows in the real n8n, with the pack's
 * Checkout Queue Trigger on the machine's RabbitMQ and the Pipedrive stand-in:
 *  - leads and payment events put on the queue (as the archive sweep relays them) end as deals in their
 *    final state: paid → won, a stale or repeated event changes nothing, a failure stays failed;
 *  - a poison message ends in the dead-letter queue and does not hold up the others;
 *  - the follow-up rules workflow creates one activity per deal and rule, however often it runs, and the
 *    payment marks the follow-up done;
 *  - n8n killed (SIGKILL) in the middle of an execution: the message comes back after the restart and
 *    its effect happens once;
 *  - a buyer who submits twice with two lead ids has one deal, won by paying the second link;
 *  - claims archived without a gateway call (a Mercado Pago notification, an Asaas event) change a deal
 *    only as the gateway's record says, once Confirm Event has read it; one it cannot resolve is
 *    dead-lettered with the reason.
 */
import type { ChannelModel } from 'amqplib';
import { LeadRegistry } from '../../lib/archive/leadRegistry';

import { S3Archive } from '../../lib/archive/archive';
import { normaliseAsaasEvent } from '../../lib/gateways/asaas';
import { mercadoPagoProvider, signMercadoPago } from '../../lib/gateways/mercadopago';
import type { NormalisedEvent } from '../../lib/gateways/types';
import {
	countExecutions,
	executionRows,
	executionsHolding,
	type N8nInstance,
} from '../../testbench/n8n';
import { E2eStack } from '../../testbench/e2eStack';
import type { GatewayStandIn } from '../../testbench/standins/gateways';
import { waitFor } from '../../testbench/ports';
import { drainQueue, publishConfirmed, uniqueTopology } from '../../testbench/rabbitmq';
import type { PipedriveStandIn } from '../../testbench/standins/pipedrive';
import { openLink } from '../../lib/links/checkoutLinks';
import { CHECKOUT_FIELDS } from '../../lib/pipedrive/fields';
import { GATEWAY_KEYS, LOCAL_LINKS_SECRET } from '../../testbench/credentials';
import { exportedWorkflowForTest, webhookThroughNode } from '../../testbench/workflows';

jest.setTimeout(600_000);

const topology = uniqueTopology('e2e-pipedrive');
let broker: ChannelModel;
let pd: PipedriveStandIn;
let n8n: N8nInstance;
let gateways: GatewayStandIn;
let archive: S3Archive;
let stack: E2eStack;
const BUCKET = 'processor';
const PREFIX = 'e2e-processor';

async function consumers(
	connection = broker,
): Promise<{ messageCount: number; consumerCount: number } | undefined> {
	const channel = await connection.createChannel();
	channel.on('error', () => undefined);
	try {
		return await channel.checkQueue(topology.queue);
	} catch {
		return undefined;
	} finally {
		await channel.close().catch(() => undefined);
	}
}

async function publish(body: object | string, source: string, messageId: string): Promise<void> {
	await publishConfirmed(broker, topology, [
		{ body, messageId, headers: { 'x-source': source, 'x-received-at': new Date().toISOString() } },
	]);
}

function standInSummary(): string {
	return JSON.stringify({
		persons: pd.state.persons.length,
		deals: pd.state.deals.map((d) => [d.id, d.status, d.person_id, d.title, d.custom_fields]),
		fields: pd.state.dealFields.length,
		calls: Object.fromEntries(pd.calls),
	});
}

async function until<T>(
	what: string,
	check: () => T | undefined | false | Promise<T | undefined | false>,
	ms = 90_000,
): Promise<T> {
	try {
		return await waitFor(what, async () => (await check()) || undefined, { timeoutMs: ms });
	} catch (error) {
		throw new Error(
			`${(error as Error).message}\nstand-in: ${standInSummary()}\n${n8n
				?.log()
				.split('\n')
				.filter((l) => /Checkout Queue Trigger|rror|trigger/i.test(l))
				.slice(-60)
				.join('\n')}`,
		);
	}
}

const key = (name: string) => pd.state.dealFields.find((f) => f.name === name)?.key as string;
const statusLabel = (deal: Record<string, unknown>) => {
	const field = pd.state.dealFields.find((f) => f.name === 'Checkout status')!;
	const id = (deal.custom_fields as Record<string, unknown>)[field.key as string];
	return (field.options as Array<{ id: number; label: string }>).find((o) => o.id === id)?.label;
};
const dealOfLead = (leadId: string) =>
	pd.state.deals.find(
		(d) =>
			key('Checkout lead id') &&
			(d.custom_fields as Record<string, unknown>)[key('Checkout lead id')] === leadId,
	);

const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
const lead = (id: string, email: string, name: string, capturedAt: string) => ({
	leadId: id,
	type: 'lead.captured',
	capturedAt,
	name,
	email,
	phone: '+5511987654321',
	product: 'Curso de Fotografia',
	amount: 19790,
	currency: 'BRL',
	consent: { given: true },
	utm: { utm_source: 'instagram' },
	form: { kind: 'fields', name: 'Checkout' },
});
const payment = (
	leadRef: string,
	type: string,
	occurredAt: string,
	eventId = `mercadopago:${leadRef}:${type}`,
) => ({
	eventId,
	type,
	leadRef,
	occurredAt,
	provider: 'mercadopago',
	providerRef: `pay-${leadRef}`,
	amount: 19790,
	currency: 'BRL',
	providerEventType: 'payment',
	raw: {},
});

const LEAD_A = '0194f0c2-aaaa-7000-8000-00000000000a';
const LEAD_B = '0194f0c2-bbbb-7000-8000-00000000000b';
const LEAD_C = '0194f0c2-cccc-7000-8000-00000000000c';
const PAY_URL = 'https://shop-n8n.example/webhook/checkout/pay';

beforeAll(async () => {
	stack = await E2eStack.start({
		s3: { bucket: BUCKET, prefix: PREFIX },
		topology,
		pipedrive: true,
		gateways: true,
		links: PAY_URL,
		workflows: [
			exportedWorkflowForTest('payment-event-processor.json', {
				topology,
				prefix: PREFIX,
				retryDelaySeconds: 1,
				pauseProbeSeconds: 1,
				keepSuccessfulExecutions: true,
			}),
			exportedWorkflowForTest('followup-rules.json', {
				scheduleSeconds: 3,
				keepSuccessfulExecutions: true,
			}),
			webhookThroughNode('crTestRedrive001', 'test/redrive', {
				type: 'n8n-nodes-checkout-recovery.webhookArchive',
				parameters: {
					resource: 'archive',
					operation: 'redrive',
					redriveWhich: 'byId',
					messageIds: '={{ $json.body.ids }}',
					...topology,
				},
				credentials: { checkoutRabbitMqApi: { id: 'crTestAmqpCred01', name: 'Checkout RabbitMQ' } },
			}),
			webhookThroughNode('crTestOAuthSetup', 'test/pipedrive-oauth-setup', {
				type: 'n8n-nodes-checkout-recovery.pipedriveFollowUp',
				parameters: { authentication: 'oAuth2', operation: 'setup' },
				credentials: {
					checkoutPipedriveOAuth2Api: {
						id: 'crPipedriveOAuth',
						name: 'Checkout Pipedrive (OAuth2)',
					},
				},
			}),
		],
		credentials: ({ pd }) => [
			{
				id: 'crPipedriveOAuth',
				name: 'Checkout Pipedrive (OAuth2)',
				type: 'checkoutPipedriveOAuth2Api',
				// Connected earlier; its access token has expired since. n8n must refresh it on the first 401.
				data: {
					grantType: 'authorizationCode',
					authUrl: `${pd.baseUrl}/oauth/authorize`,
					clientId: pd.oauth.clientId,
					clientSecret: pd.oauth.clientSecret,
					scope: '',
					authQueryParameters: '',
					authentication: 'header',
					baseUrl: '',
					oauthTokenData: {
						access_token: 'expired-access-token',
						refresh_token: pd.oauth.refreshToken,
						token_type: 'Bearer',
						expires_in: 3599,
						api_domain: pd.baseUrl,
					},
				},
			},
		],
		// The trigger's per-message lines are at debug level: in the log a failure here can be read from.
		// The OAuth2 credential's token URL is a hidden field that n8n fills with Pipedrive's own; n8n's
		// credential overwrites point it at the stand-in, as an operator would point it at a proxy.
		env: ({ pd }) => ({
			N8N_LOG_LEVEL: 'debug',
			CREDENTIALS_OVERWRITE_DATA: JSON.stringify({
				checkoutPipedriveOAuth2Api: { accessTokenUrl: `${pd.baseUrl}/oauth/token` },
			}),
		}),
		// Ready once the trigger consumes (it declares the queue itself).
		ready: async (_n8n, { broker: connection }) =>
			((await consumers(connection))?.consumerCount ?? 0) > 0,
	});
	({ n8n, broker, pd, gateways, archive } = stack);
});

afterAll(async () => {
	await stack?.stop();
});

it('leads and payment events from the queue end as deals in their final state; a poison message is dead-lettered', async () => {
	// Captured 50 minutes ago: not yet "abandoned" (1 hour), whenever the rules run in between.
	await publish(lead(LEAD_A, 'ana@example.com', 'Ana Souza', hoursAgo(50 / 60)), 'lead', LEAD_A);
	await publish(lead(LEAD_B, 'bruno@example.com', 'Bruno Lima', hoursAgo(50 / 60)), 'lead', LEAD_B);
	await publish('{"this is": not json', 'stripe', 'poison-1');
	await publish(payment(LEAD_A, 'pending', hoursAgo(45 / 60)), 'mercadopago', 'a-pending');
	await publish(payment(LEAD_B, 'failed', hoursAgo(40 / 60)), 'mercadopago', 'b-failed');
	// a payment for a lead whose lead message never came: it still gets its deal
	await publish(payment(LEAD_C, 'paid', hoursAgo(0.5)), 'mercadopago', 'c-paid');

	await until('lead C paid', () => dealOfLead(LEAD_C));
	const dealA = dealOfLead(LEAD_A)!;
	const dealB = dealOfLead(LEAD_B)!;
	expect(statusLabel(dealA)).toBe('Pending payment');
	expect(statusLabel(dealB)).toBe('Failed');
	expect(dealOfLead(LEAD_C)).toMatchObject({ status: 'won', value: 197.9 });
	expect(pd.state.persons.map((p) => p.name).sort()).toEqual(['Ana Souza', 'Bruno Lima']);
	expect(dealA).toMatchObject({
		title: 'Curso de Fotografia – Ana Souza',
		value: 197.9,
		currency: 'BRL',
		status: 'open',
	});
	expect(
		pd.state.notes
			.filter((n) => n.deal_id === dealA.id)
			.map((n) => n.content)
			.join(),
	).toContain('instagram');

	const dead = await drainQueue(broker, topology.deadLetterQueue, 5, 1500);
	expect(dead.map((d) => d.messageId)).toEqual(['poison-1']);
});

it('an event the node cannot apply fails its executions, is retried with backoff in its place, then dead-lettered; the queue goes on', async () => {
	const dealA = dealOfLead(LEAD_A)!;
	await publish(
		{ ...payment(LEAD_A, 'failed', 'yesterday'), eventId: 'bad-time' },
		'mercadopago',
		'bad-time',
	);
	await publish(payment(LEAD_A, 'paid', hoursAgo(20 / 60)), 'mercadopago', 'a-paid');
	const dead = await until(
		'the bad event in the dead-letter queue',
		async () => {
			const got = await drainQueue(broker, topology.deadLetterQueue, 5, 500);
			return got.length ? got : undefined;
		},
		90_000,
	);
	expect(dead.map((d) => d.messageId)).toEqual(['bad-time']);
	await until('deal A won after it', () => dealOfLead(LEAD_A)?.status === 'won');
	expect(statusLabel(dealOfLead(LEAD_A)!)).toBe('Paid');
	expect(dealA.id).toBe(dealOfLead(LEAD_A)!.id);
	// five failed executions (attempts), each visible in n8n
	expect(n8n.log()).toMatch(
		/bad-time failed on delivery 5 of 5 and goes to the dead-letter queue: .*occurredAt "yesterday" is not a date/,
	);
});

it('follow-up rules fire once per deal (the rules run every few seconds), and the payment closes the follow-up', async () => {
	const dealA = dealOfLead(LEAD_A)!;
	const dealB = dealOfLead(LEAD_B)!;
	// B failed 40 minutes ago ("Payment failed" after 10 minutes); A is paid by now.
	const followUp = await until('the failed-payment follow-up', () =>
		pd.state.activities.find((a) => a.deal_id === dealB.id),
	);
	expect(followUp).toMatchObject({
		type: 'call',
		subject: 'Pagamento recusado: Bruno Lima (Curso de Fotografia, R$\u00a0197,90)',
		done: false,
		owner_id: 1,
	});
	// The activity carries a pay link renewed when the rule fired: signed, for this lead, valid for the link days.
	const link = /https:\/\/shop-n8n\.example\/webhook\/checkout\/pay\?lead=[^\s<"]+/.exec(
		String(followUp.note),
	)![0];
	expect(
		openLink({ lead: new URL(link).searchParams.get('lead') }, LOCAL_LINKS_SECRET),
	).toMatchObject({ ok: true, leadId: LEAD_B, via: 'signed', expiresAtMs: expect.any(Number) });
	const runsBefore = countExecutions(n8n, 'crFollowUpRules1');
	await until(
		'three more rule runs',
		() => countExecutions(n8n, 'crFollowUpRules1') >= runsBefore + 3,
		30_000,
	);
	expect(pd.state.activities.filter((a) => a.deal_id === dealB.id)).toHaveLength(1);
	expect(pd.state.activities.filter((a) => a.deal_id === dealA.id)).toHaveLength(0);
	expect(
		String((dealB.custom_fields as Record<string, unknown>)[key('Checkout follow-ups applied')]),
	).toBe(`Payment failed#${followUp.id}`);

	// The same lead submitted again and a duplicate event: still one deal, no new activity.
	await publish(
		lead(LEAD_B, 'bruno@example.com', 'Bruno Lima', hoursAgo(50 / 60)),
		'lead',
		`${LEAD_B}-again`,
	);
	await publish(payment(LEAD_B, 'failed', hoursAgo(40 / 60)), 'mercadopago', 'b-failed-again');
	await until(
		'queue drained',
		async () =>
			(await consumers())?.messageCount === 0 && countExecutions(n8n, 'crPaymentEvents1') >= 7,
	);
	await new Promise((r) => setTimeout(r, 1000));
	expect(
		pd.state.deals.filter(
			(d) => (d.custom_fields as Record<string, unknown>)[key('Checkout lead id')] === LEAD_B,
		),
	).toHaveLength(1);
	expect(pd.state.persons).toHaveLength(2);
});

it('Pipedrive refusing the token pauses the queue with the error shown in n8n; nothing is dead-lettered, and it resumes by itself once the token works', async () => {
	const ids = ['0194f0c2-dddd-7000-8000-00000000000d', '0194f0c2-eeee-7000-8000-00000000000e'];
	const failedBefore = countExecutions(n8n, 'crPaymentEvents1');
	pd.faults.unauthorized = true;
	try {
		for (const [i, id] of ids.entries())
			await publish(
				lead(id, `paused${i}@example.com`, `Pausa ${i}`, hoursAgo(0.1)),
				'lead',
				`${id}.pause`,
			);
		// Probed again and again, far past the message's 5 attempts: each probe a cheap execution without
		// the message's data, which n8n keeps nothing of (nodes/shared/probe.ts).
		const pausedLines = () =>
			(n8n.log().match(/Paused: .*refused the credentials \(401\)/g) ?? []).length;
		await until('the paused queue probed again and again', () => pausedLines() >= 7, 60_000);
		// Each held message ran once (one failed execution holding its buyer); the probes left nothing.
		for (const i of ids.keys())
			expect(executionsHolding(n8n, `paused${i}@example.com`).length).toBeLessThanOrEqual(1);
		// Of the failed executions since, n8n keeps one per held message at most (its first failure: the two
		// leads are in flight together, as one stuck lead holds no other). The probes succeed: this test
		// keeps successful executions to count them (the shipped workflow keeps none), and none of them
		// holds a buyer's data (checked above), only the probe's call.
		const since = executionRows(n8n, 'crPaymentEvents1').slice(failedBefore);
		const failed = since.filter((e) => e.status !== 'success' && e.data !== null);
		expect(failed.length).toBeLessThanOrEqual(ids.length);
		expect(since.filter((e) => e.status === 'success').length).toBeGreaterThanOrEqual(3);
		expect(await drainQueue(broker, topology.deadLetterQueue, 5, 500)).toEqual([]);
		expect(ids.map(dealOfLead)).toEqual([undefined, undefined]);
	} finally {
		pd.faults.unauthorized = false;
	}
	await until('both leads applied after the token works again', () =>
		ids.every((id) => dealOfLead(id)),
	);
	expect(await drainQueue(broker, topology.deadLetterQueue, 5, 500)).toEqual([]);
});

it('Re-drive Dead Letters: a lead dead-lettered while Pipedrive refused it goes back to the queue by id once fixed, and lands', async () => {
	const id = '0194f0c2-ffff-7000-8000-00000000000f';
	pd.faults.badRequests = { 'POST /api/v2/persons': 5 };
	await publish(
		lead(id, 'redrive@example.com', 'Rita Drive', hoursAgo(0.1)),
		'lead',
		`${id}.redrive`,
	);
	const dead = await until(
		'the lead in the dead-letter queue',
		async () => {
			const channel = await broker.createChannel();
			try {
				return (await channel.checkQueue(topology.deadLetterQueue)).messageCount === 1 || undefined;
			} finally {
				await channel.close();
			}
		},
		90_000,
	);
	expect(dead).toBe(true);
	expect(dealOfLead(id)).toBeUndefined();
	// The operator fixed the cause and re-drives that one message from n8n.
	const res = await fetch(n8n.webhookUrl('test/redrive'), {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ ids: `${id}.redrive` }),
	});
	expect(res.status).toBe(200);
	expect(await res.json()).toMatchObject({ moved: 1, movedIds: [`${id}.redrive`], notFound: [] });
	await until('the re-driven lead applied', () => dealOfLead(id));
	expect(pd.state.persons.filter((p) => p.name === 'Rita Drive')).toHaveLength(1);
});

it('order of arrival: a payment before its lead, the lead re-driven from the dead-letter queue later: one won deal with its person, no follow-up', async () => {
	const id = '0194f0c2-abab-7000-8000-0000000000ab';
	await publish(payment(id, 'paid', hoursAgo(1.5)), 'mercadopago', `mercadopago:${id}:paid`);
	await until('the payment made its deal', () => dealOfLead(id));
	await publishConfirmed(broker, topology, [
		{
			body: lead(id, 'redriven.late@example.com', 'Lia Tarde', hoursAgo(2)),
			messageId: `${id}.late`,
			headers: { 'x-source': 'lead', 'x-redriven-at': new Date().toISOString() },
		},
	]);
	await until('the person on the deal', () => dealOfLead(id)?.person_id);
	const deals = pd.state.deals.filter(
		(d) => (d.custom_fields as Record<string, unknown>)[key('Checkout lead id')] === id,
	);
	expect(deals).toHaveLength(1);
	expect(deals[0]).toMatchObject({ status: 'won' });
	expect(pd.state.persons.filter((p) => p.name === 'Lia Tarde')).toHaveLength(1);
	const runs = countExecutions(n8n, 'crFollowUpRules1');
	await until(
		'two more rule runs',
		() => countExecutions(n8n, 'crFollowUpRules1') >= runs + 2,
		30_000,
	);
	expect(pd.state.activities.filter((a) => a.deal_id === deals[0].id)).toHaveLength(0);
});

it('n8n killed in the middle of an execution: the message comes back after the restart and is applied once', async () => {
	const dealB = dealOfLead(LEAD_B)!;
	const followUpId = pd.state.activities.find((a) => a.deal_id === dealB.id)!.id;
	const patchesBefore = pd.calls.get('PATCH /api/v2/deals/{id}') ?? 0;
	pd.faults.delayMs = 5000; // every Pipedrive answer takes 5 s: the execution is surely in flight
	const requestsBefore = [...pd.calls.values()].reduce((a, b) => a + b, 0);
	await publish(payment(LEAD_B, 'paid', new Date().toISOString()), 'mercadopago', 'b-paid');
	await until(
		'the execution to reach Pipedrive',
		() => [...pd.calls.values()].reduce((a, b) => a + b, 0) > requestsBefore,
	);
	await n8n.kill('SIGKILL');
	pd.faults.delayMs = 0;
	await new Promise((r) => setTimeout(r, 5500)); // let the stand-in finish the request the dead n8n sent
	expect(statusLabel(dealOfLead(LEAD_B)!)).toBe('Failed'); // not applied: n8n died first
	expect(((await consumers())?.messageCount ?? 0) >= 1).toBe(true); // back on the queue

	await n8n.restart();
	await until('deal B won', () => dealOfLead(LEAD_B)?.status === 'won' && dealOfLead(LEAD_B));
	await until('queue drained', async () => (await consumers())?.messageCount === 0);
	await new Promise((r) => setTimeout(r, 2000));
	expect(statusLabel(dealOfLead(LEAD_B)!)).toBe('Paid');
	expect(pd.state.activities.find((a) => a.id === followUpId)).toMatchObject({ done: true });
	// one PATCH of the deal for the payment: the delivery before the kill never got to write
	expect((pd.calls.get('PATCH /api/v2/deals/{id}') ?? 0) - patchesBefore).toBe(1);
	expect(await drainQueue(broker, topology.deadLetterQueue, 5, 500)).toEqual([]);
});

it('OAuth2: an expired access token is refreshed by n8n (it must see the 401 thrown), and the request goes on to the api_domain', async () => {
	const res = await fetch(n8n.webhookUrl('test/pipedrive-oauth-setup'), {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: '{}',
	});
	const body = (await res.json()) as { fields?: Array<{ name: string; created: boolean }> };
	expect(res.status).toBe(200);
	expect(pd.oauth.refreshes).toBe(1);
	// the fields exist already (the processor made them): found through OAuth, none created
	expect(body.fields?.map((f) => f.created)).toEqual(Array(CHECKOUT_FIELDS.length).fill(false));
});

it('a buyer who submits the form twice (a new lead id each time, as the HTML form gives) ends with one deal (its first lead kept), won through the newest link', async () => {
	const first = '0194f0c2-caca-7000-8000-00000000000c';
	const second = '0194f0c2-caca-7000-8000-00000000001c';
	await publish(lead(first, 'carla@example.com', 'Carla Dias', hoursAgo(12 / 60)), 'lead', first);
	await publish(
		{
			...lead(second, 'carla@example.com', 'Carla Dias', hoursAgo(6 / 60)),
			utm: { utm_source: 'email' },
		},
		'lead',
		second,
	);
	await publish(payment(second, 'paid', hoursAgo(3 / 60)), 'mercadopago', 'd-paid');
	// The deal keeps the first lead (a second submit cannot replace it) and records the second, whose
	// payment wins it.
	const deal = await until(
		"Carla's deal won",
		() => dealOfLead(first)?.status === 'won' && dealOfLead(first),
	);
	expect((deal.custom_fields as Record<string, unknown>)[key('Checkout earlier lead id')]).toBe(
		second,
	);
	const carla = pd.state.persons.filter((p) => p.name === 'Carla Dias');
	expect(carla).toHaveLength(1);
	expect(pd.state.deals.filter((d) => d.person_id === carla[0].id).map((d) => d.id)).toEqual([
		deal.id,
	]);
	expect(statusLabel(deal)).toBe('Paid');
	const notes = pd.state.notes.filter((n) => n.deal_id === deal.id).map((n) => String(n.content));
	expect(notes).toHaveLength(2);
	expect(notes[1]).toContain('submitted again');
	expect(notes[1]).toContain('email');
});

it('claims change a deal only as the gateway\'s record says: a Mercado Pago notification resolved by its signed id wins the deal and closes the links; an Asaas "received" the record calls pending, and a payment Mercado Pago does not know, change nothing and are dead-lettered with the reason', async () => {
	const leadM = '0194f0c2-c1a1-7000-8000-0000000000e1';
	const leadS = '0194f0c2-c1a1-7000-8000-0000000000f1';
	await publish(lead(leadM, 'marta@example.com', 'Marta Reis', hoursAgo(10 / 60)), 'lead', leadM);
	await publish(
		lead(leadS, 'sergio@example.com', 'Sergio Alves', hoursAgo(10 / 60)),
		'lead',
		leadS,
	);
	const mp = (path: string, body: object) =>
		fetch(`${gateways.baseUrl}${path}`, {
			method: 'POST',
			headers: {
				authorization: `Bearer ${GATEWAY_KEYS.mercadopago.accessToken}`,
				'content-type': 'application/json',
			},
			body: JSON.stringify(body),
		}).then((r) => r.json() as Promise<{ id: string }>);
	// Marta pays at Mercado Pago; the notification the intake archived names only the signed payment id.
	const pref = await mp('/checkout/preferences', {
		items: [{ title: 'Curso de Fotografia', quantity: 1, unit_price: 197.9, currency_id: 'BRL' }],
		external_reference: leadM,
	});
	await gateways.act('mercadopago', pref.id, 'pay');
	const claimOf = (paymentId: string, requestId: string): NormalisedEvent => {
		const ts = String(Date.now());
		const outcome = mercadoPagoProvider.verifyWebhook(
			{
				rawBody: Buffer.from(
					JSON.stringify({ type: 'payment', action: 'payment.updated', data: { id: paymentId } }),
				),
				headers: {
					'x-signature': signMercadoPago(
						paymentId,
						requestId,
						ts,
						GATEWAY_KEYS.mercadopago.webhookSecret,
					),
					'x-request-id': requestId,
				},
				query: { 'data.id': paymentId },
			},
			GATEWAY_KEYS.mercadopago.webhookSecret,
			Date.now(),
		);
		if (!outcome.ok) throw new Error(outcome.reason);
		return outcome.event;
	};
	const martaClaim = claimOf(gateways.checkouts.get(pref.id)!.paymentId!, 'req-marta');
	expect(martaClaim).toMatchObject({
		type: 'other',
		confirm: { paymentId: gateways.checkouts.get(pref.id)!.paymentId },
	});
	// Sergio's Asaas payment is still pending; an event with the webhook token claims it was received.
	const checkout = await fetch(`${gateways.baseUrl}/v3/checkouts`, {
		method: 'POST',
		headers: { access_token: GATEWAY_KEYS.asaas.apiKey, 'content-type': 'application/json' },
		body: JSON.stringify({
			billingTypes: ['PIX'],
			chargeTypes: ['DETACHED'],
			callback: { successUrl: 'https://s/ok', cancelUrl: 'https://s/c', expiredUrl: 'https://s/e' },
			items: [{ name: 'Curso', description: 'Curso', quantity: 1, value: 197.9 }],
			externalReference: leadS,
		}),
	}).then((r) => r.json() as Promise<{ id: string }>);
	await gateways.act('asaas', checkout.id, 'fail');
	const sergioPayment = gateways.checkouts.get(checkout.id)!.paymentId!;
	// Asaas stamps its events in Brazilian local time without a zone.
	const brazilNow = new Date(Date.now() - 3 * 3_600_000)
		.toISOString()
		.replace('T', ' ')
		.slice(0, 19);
	const sergioClaim = normaliseAsaasEvent({
		id: 'evt_claimed_received',
		event: 'PAYMENT_RECEIVED',
		dateCreated: brazilNow,
		payment: { id: sergioPayment, status: 'RECEIVED', value: 197.9, externalReference: leadS },
	});
	const unknownClaim = claimOf('555000111', 'req-unknown');
	await publish(martaClaim, 'mercadopago', martaClaim.eventId);
	await publish(sergioClaim, 'asaas', sergioClaim.eventId);
	await publish(unknownClaim, 'mercadopago', unknownClaim.eventId);

	const marta = await until(
		"Marta's deal won",
		() => dealOfLead(leadM)?.status === 'won' && dealOfLead(leadM),
	);
	expect(statusLabel(marta)).toBe('Paid');
	expect(await new LeadRegistry(archive).isLeadClosed(leadM)).toBe(true);
	const dead = await until(
		'both unbacked claims dead-lettered',
		async () => {
			const got = await drainQueue(broker, topology.deadLetterQueue, 10, 1000);
			return got.length ? got : undefined;
		},
		120_000,
	);
	if (dead.length < 2)
		dead.push(
			...(await until(
				'the second one',
				async () => {
					const more = await drainQueue(broker, topology.deadLetterQueue, 10, 1000);
					return more.length ? more : undefined;
				},
				120_000,
			)),
		);
	const reasons = Object.fromEntries(
		dead.map((d) => [d.messageId, String(d.headers['x-dead-letter-reason'])]),
	);
	expect(Object.keys(reasons).sort()).toEqual([sergioClaim.eventId, unknownClaim.eventId].sort());
	// The claim the record does not back, and the payment Mercado Pago does not know, each with why.
	expect(reasons[sergioClaim.eventId]).toMatch(
		/^failed on 5 deliveries; last error: Asaas' record of payment \S+ says PENDING, not what PAYMENT_RECEIVED claims/,
	);
	expect(reasons[unknownClaim.eventId]).toMatch(
		/^failed on 5 deliveries; last error: mercadopago GET \/v1\/payments\/555000111 failed \(HTTP 404\)/,
	);
	const sergio = dealOfLead(leadS)!;
	expect(sergio.status).toBe('open');
	expect(statusLabel(sergio)).not.toBe('Paid');
	expect(await new LeadRegistry(archive).isLeadClosed(leadS)).toBe(false);
});
