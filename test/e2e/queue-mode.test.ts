/**
 * The whole story in n8n's queue mode, the shape shops scale out to: one main (the schedules and the
 * Checkout Queue Trigger), two workers that run the executions, one webhook processor that takes the
 * public posts, on the machine's PostgreSQL and Redis (a database and a key prefix of this run's own),
 * each process with the pack installed as a user installs it.
 *  - the form → 303 to the prefilled payment page, and the pay link, answered through the webhook processor;
 *  - signed webhooks on the webhook processor, through the fast intake (its handler runs there) and the
 *    visual intake (an execution on a worker);
 *  - the sweep and the queue trigger on the main, their executions on the workers, over two per-lead
 *    partitions (each lead's events in one queue, two leads at a time); deals won in Pipedrive;
 *  - the follow-up rules on their schedule, an activity for a failed payment;
 *  - a worker SIGKILLed while it runs an execution, and the webhook processor SIGKILLed while senders
 *    post: nothing lost, nothing doubled; the stall until n8n gives the dead worker's job up is measured
 *    with the shortened lock settings this suite runs with (see README, "Scaling out");
 *  - the fault suite (issue #21): Pipedrive's search 2 s behind its writes; the main SIGKILLed and started
 *    again while a worker runs an execution; one buyer submitting twice within a second, one three times
 *    with other data, one whose two leads arrive newer first; the rules on their schedule every second (runs
 *    overlapping on the two workers); Mercado Pago claims the gateway never confirms in the stream; one
 *    archive object whose GET S3 always refuses. The oracle: nothing lost, no person, deal, activity or
 *    note doubled, no deal moved back, the unconfirmable claims dead-lettered with the gateway's 404, the
 *    denied object moved aside with its reason, and every other lead's payment applied within 20 s while
 *    the claims wait (the stall one stuck lead causes the others: printed).
 * CR_QUEUE_FAULTS_SCALE=n multiplies the fault suite's buyers (the larger run of RELIABILITY.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ChannelModel } from 'amqplib';

import { partitionQueues } from '../../lib/amqp/partitions';
import { RelayFailures } from '../../lib/archive/aside';
import type { S3Archive } from '../../lib/archive/archive';
import { encodeMessage, leadCapturedMessage } from '../../lib/checkout/message';
import { signMercadoPago } from '../../lib/gateways/mercadopago';
import { signStripePayload } from '../../lib/gateways/stripe';
import { STATUS_LABELS } from '../../lib/pipedrive/fields';
import {
	GATEWAY_KEYS,
	gatewayCredentials,
	linksCredential,
	pipedriveCredential,
	rabbitCredential,
	s3Credential,
} from '../../testbench/credentials';
import { REPO_ROOT } from '../../testbench/n8n';
import { executionRow, startQueueCluster, type QueueCluster } from '../../testbench/n8nQueue';
import { freePort, waitFor } from '../../testbench/ports';
import {
	connectBroker,
	deleteTopology,
	drainQueue,
	uniqueTopology,
} from '../../testbench/rabbitmq';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { startS3FaultProxy, type S3FaultProxy } from '../../testbench/s3FaultProxy';
import { startGatewayStandIn, type GatewayStandIn } from '../../testbench/standins/gateways';
import { startPipedriveStandIn, type PipedriveStandIn } from '../../testbench/standins/pipedrive';
import { stripeEventBody } from '../../testbench/stripeEvents';
import { exportedWorkflowForTest, rulesWorkflowFailedAtOnce } from '../../testbench/workflows';

jest.setTimeout(900_000);

const BUCKET = 'queue-mode';
const PREFIX = 'queue-mode';
const PRICE = 19990;
/**
 * Lock and stall check as this suite sets them; CR_QUEUE_N8N_DEFAULTS=1 keeps n8n's own (a 60 s lock
 * renewed every 10 s, a stall check every 30 s), to measure the stall a default install sees.
 */
const N8N_DEFAULTS = process.env.CR_QUEUE_N8N_DEFAULTS === '1';
const STALL_SETTINGS: Record<string, string> = N8N_DEFAULTS
	? {
			QUEUE_WORKER_LOCK_DURATION: '60000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '10000',
			QUEUE_WORKER_STALLED_INTERVAL: '30000',
		}
	: {
			QUEUE_WORKER_LOCK_DURATION: '10000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '2000',
			QUEUE_WORKER_STALLED_INTERVAL: '5000',
		};
/**
 * The trigger's own guard, shortened from 10 min: n8n usually gives a dead worker's job up within seconds
 * (the stall measured below), but once in a CI run it never reported the killed execution's end, and the
 * message's partition waited on it. The guard then retries the message; the lead still ends as one deal.
 */
const EXECUTION_TIMEOUT_SECONDS = 90;
const topology = uniqueTopology('e2e-queue-mode');
/** Two per-lead partitions: the two workers run two leads' events at the same time. */
const PARTITIONS = 2;
/** How far Pipedrive's search lags behind its writes in the stand-in (as Pipedrive's index does). */
const SEARCH_LAG_MS = 2000;
const SCALE = Math.max(1, Number(process.env.CR_QUEUE_FAULTS_SCALE ?? 1));
let s3: S3Server;
/** In front of the S3 server for every n8n process: it refuses the GET of one object in the fault suite. */
let s3Proxy: S3FaultProxy;
let direct: { archive: S3Archive; close: () => void };
let broker: ChannelModel;
let gateways: GatewayStandIn;
let pd: PipedriveStandIn;
let cluster: QueueCluster;

beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(BUCKET);
	s3Proxy = await startS3FaultProxy(s3.settings(BUCKET));
	direct = s3.openArchive(BUCKET, PREFIX);
	pd = await startPipedriveStandIn({ searchLagMs: SEARCH_LAG_MS });
	gateways = await startGatewayStandIn({
		stripe: GATEWAY_KEYS.stripe,
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: GATEWAY_KEYS.asaas,
	});
	// The pay links point at the webhook processor, where a returning buyer's request goes.
	const webhookPort = await freePort();
	cluster = await startQueueCluster({
		workers: 2,
		webhookProcessors: 1,
		webhookPorts: [webhookPort],
		workflows: [
			exportedWorkflowForTest('checkout-lead-capture.json', { prefix: PREFIX }),
			exportedWorkflowForTest('payment-webhook-fast-intake.json', { prefix: PREFIX }),
			exportedWorkflowForTest('payment-webhook-intake.json', { prefix: PREFIX }),
			exportedWorkflowForTest('archive-sweep.json', {
				prefix: PREFIX,
				topology,
				scheduleSeconds: 2,
				partitions: PARTITIONS,
			}),
			exportedWorkflowForTest('payment-event-processor.json', {
				prefix: PREFIX,
				topology,
				// A claim the gateway never confirms waits 2 + 4 + 8 + 16 s between its 5 tries.
				retryDelaySeconds: 2,
				partitions: PARTITIONS,
				executionTimeoutSeconds: EXECUTION_TIMEOUT_SECONDS,
			}),
			rulesWorkflowFailedAtOnce(1),
		],
		credentials: [
			s3Credential({ ...s3.settings(BUCKET), endpoint: s3Proxy.endpoint }),
			rabbitCredential(),
			...gatewayCredentials(gateways.baseUrl),
			pipedriveCredential(pd.baseUrl, pd.token),
			linksCredential(`http://127.0.0.1:${webhookPort}/webhook/checkout/pay`),
		],
		env: STALL_SETTINGS,
		// Ready when a form post is answered through a worker's execution, and the fast intake answers.
		ready: async (c) =>
			(
				await fetch(c.webhookUrl('checkout/lead'), {
					method: 'POST',
					headers: { accept: 'application/json' },
				}).catch(() => undefined)
			)?.status === 422 &&
			(
				await fetch(c.webhookUrl('checkout/fast/stripe'), { method: 'POST', body: '{}' }).catch(
					() => undefined,
				)
			)?.status === 401,
	});
	// Opened after the start: n8n's imports block this process for a minute, past a heartbeat.
	broker = await connectBroker();
});

afterAll(async () => {
	await cluster?.stop();
	await gateways?.close();
	await pd?.close();
	if (broker) {
		await deleteTopology(broker, topology, [PARTITIONS]);
		await broker.close();
	}
	direct?.close();
	await s3Proxy?.close();
	await s3?.destroy();
});

/** Posts until answered as expected, as browsers (the buyer posts again) and gateways (they resend) do. */
async function sendUntil(
	url: () => string,
	init: RequestInit,
	accept: (res: Response) => boolean,
	retryForMs = 180_000,
): Promise<Response> {
	const started = Date.now();
	for (let attempt = 1; ; attempt++) {
		const res = await fetch(url(), { ...init, redirect: 'manual' }).catch(() => undefined);
		if (res && accept(res)) return res;
		await res?.text().catch(() => undefined);
		if (Date.now() - started > retryForMs)
			throw new Error(`${url()} answered ${res?.status ?? 'nothing'} for ${retryForMs / 1000} s`);
		await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
	}
}

/** A buyer's form post → the lead id the gateway's checkout carries (from the 303's payment page). */
async function captureLead(n: number): Promise<{ leadId: string; location: string }> {
	const res = await sendUntil(
		() => cluster.webhookUrl('checkout/lead'),
		{
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
			body: new URLSearchParams({
				nome: `Compradora ${n}`,
				email: `buyer${n}@queue.example`,
				produto: 'curso-de-fotografia',
				lgpd: 'on',
			}).toString(),
		},
		(r) => r.status === 303,
	);
	const location = res.headers.get('location')!;
	const checkout = gateways.checkouts.get(decodeURIComponent(location.split('/').pop()!));
	return { leadId: checkout!.leadRef!, location };
}

/** A paid or failed checkout of a lead, as Stripe sends it. */
function checkoutEvent(
	leadId: string,
	id: string,
	step: 'paid' | 'failed',
	createdSec: number,
): string {
	return stripeEventBody({
		id,
		leadId,
		step,
		createdSec,
		amount: PRICE,
		sessionId: `cs_${id}`,
		chargeId: `ch_${id}`,
	});
}

async function sendStripe(path: string, body: string): Promise<void> {
	await sendUntil(
		() => cluster.webhookUrl(path),
		{
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'stripe-signature': signStripePayload(
					body,
					GATEWAY_KEYS.stripe.webhookSecret,
					Math.floor(Date.now() / 1000),
				),
			},
			body,
		},
		(r) => r.status === 200,
	);
}

const fieldKey = (name: string) =>
	pd.state.dealFields.find((f) => f.name === name)?.key as string | undefined;
function statusOf(deal: Record<string, unknown>): string | undefined {
	const field = pd.state.dealFields.find((f) => f.name === 'Checkout status');
	const id = (deal.custom_fields as Record<string, unknown>)?.[field?.key as string];
	return (field?.options as Array<{ id: number; label: string }> | undefined)?.find(
		(o) => o.id === id,
	)?.label;
}
/**
 * The deals of a lead: by its lead id, or by the lead id a second submit of the same buyer replaced. A
 * post whose answer was lost when the webhook processor was killed is sent again and makes a second lead
 * for the same buyer; the two leads may sit in different partitions and reach Pipedrive in either order,
 * and the buyer's one deal then carries either id, the other as its earlier lead id (lib/pipedrive/matching).
 * Suspected, not proven, in the two CI runs where one lead had "no deal".
 */
function dealsOf(leadId: string): Array<Record<string, unknown>> {
	const keys = ['Checkout lead id', 'Checkout earlier lead id']
		.map(fieldKey)
		.filter((key): key is string => Boolean(key));
	return pd.state.deals.filter((d) =>
		keys.some((key) => (d.custom_fields as Record<string, unknown>)?.[key] === leadId),
	);
}

/** Where each lead that is not yet as wanted stands (for the failure message). */
function unsettled(wanted: Map<string, string>): string {
	return [...wanted]
		.map(([leadId, status]) => {
			const deals = dealsOf(leadId);
			const ok = deals.length === 1 && Boolean(deals[0].person_id) && statusOf(deals[0]) === status;
			return ok
				? ''
				: `${leadId}: want ${status}, deals ${JSON.stringify(deals.map((d) => ({ id: d.id, person: d.person_id, status: statusOf(d), won: d.status })))}`;
		})
		.filter(Boolean)
		.join('\n');
}

async function waitSettled(wanted: Map<string, string>, timeoutMs: number): Promise<void> {
	try {
		await waitFor(
			'every lead in its state in Pipedrive',
			async () => (settled(wanted) ? true : undefined),
			{
				timeoutMs,
				intervalMs: 500,
			},
		);
	} catch (error) {
		throw new Error(`${(error as Error).message}\n${unsettled(wanted)}`);
	}
}

/** Every lead has exactly one deal with its person, in the wanted status. */
function settled(wanted: Map<string, string>): boolean {
	return [...wanted].every(([leadId, status]) => {
		const deals = dealsOf(leadId);
		return deals.length === 1 && Boolean(deals[0].person_id) && statusOf(deals[0]) === status;
	});
}

const WON = STATUS_LABELS.paid;
const PROCESSOR_ID = (
	JSON.parse(readFileSync(join(REPO_ROOT, 'workflows/payment-event-processor.json'), 'utf8')) as {
		id: string;
	}
).id;
const FAILED = STATUS_LABELS.failed;

it('form, pay link, both intakes, sweep, queue trigger and rules run across main, workers and the webhook processor', async () => {
	const leads = await Promise.all(Array.from({ length: 12 }, (_, n) => captureLead(n)));
	expect(new Set(leads.map((l) => l.leadId)).size).toBe(12);
	for (const { location } of leads) expect(location.startsWith(gateways.baseUrl)).toBe(true);

	// Gateways stamp events in seconds: a second after the last capture, as a buyer pays after the form.
	const now = Math.ceil(Date.now() / 1000) + 1;
	const wanted = new Map<string, string>();
	await Promise.all(
		leads.map(async ({ leadId }, n) => {
			if (n < 10) {
				// Paid: most through the fast intake, two through the visual intake (an execution on a worker).
				wanted.set(leadId, WON);
				await sendStripe(
					n < 8 ? 'checkout/fast/stripe' : 'checkout/payment-webhook/stripe',
					checkoutEvent(leadId, `evt_qm_paid_${n}`, 'paid', now),
				);
			} else {
				wanted.set(leadId, FAILED);
				await sendStripe(
					'checkout/fast/stripe',
					checkoutEvent(leadId, `evt_qm_failed_${n}`, 'failed', now),
				);
			}
		}),
	);
	await waitSettled(wanted, 240_000);

	// The failed checkouts got the "Payment failed" follow-up, once each, from the schedule on the main.
	await waitFor(
		'a follow-up activity on each failed checkout',
		async () => {
			const failedDeals = leads.slice(10).map(({ leadId }) => dealsOf(leadId)[0].id);
			return failedDeals.every((id) => pd.state.activities.some((a) => a.deal_id === id))
				? true
				: undefined;
		},
		{ timeoutMs: 120_000, intervalMs: 500 },
	);
	for (const { leadId } of leads.slice(10)) {
		const dealId = dealsOf(leadId)[0].id;
		expect(
			pd.state.activities.filter((a) => a.deal_id === dealId && a.is_deleted !== true),
		).toHaveLength(1);
	}

	// The pay link in a failed checkout's deal brings the buyer back to a payment page, through the
	// webhook processor (Open Checkout Link runs on a worker); a paid one's gives the neutral answer.
	const linkOf = (leadId: string) =>
		String(
			(dealsOf(leadId)[0].custom_fields as Record<string, unknown>)[
				fieldKey('Checkout payment link')!
			],
		);
	expect(linkOf(leads[10].leadId).startsWith(cluster.webhooks[0].baseUrl)).toBe(true);
	const back = await fetch(linkOf(leads[10].leadId), { redirect: 'manual' });
	expect({
		status: back.status,
		to: back.headers.get('location')?.startsWith(gateways.baseUrl),
	}).toEqual({ status: 303, to: true });
	const paid = await fetch(linkOf(leads[0].leadId), { redirect: 'manual' });
	expect(paid.status).toBe(404);

	// The trigger consumes both partitions of the relay, one consumer each.
	const channel = await broker.createChannel();
	try {
		for (const { queue } of partitionQueues(topology, PARTITIONS))
			expect({ queue, consumers: (await channel.checkQueue(queue)).consumerCount }).toEqual({
				queue,
				consumers: 1,
			});
	} finally {
		await channel.close().catch(() => undefined);
	}

	// The executions ran on the workers: each worker's log has executions of its own, the main's none.
	const ran = (log: string) =>
		(log.match(/Worker started execution|Worker finished execution/g) ?? []).length;
	for (const worker of cluster.workers) expect(ran(worker.log())).toBeGreaterThan(0);
	expect(ran(cluster.main.log())).toBe(0);
});

it('a worker SIGKILLed mid-execution and the webhook processor SIGKILLed mid-post: nothing lost, nothing doubled', async () => {
	const personsBefore = pd.state.persons.length;
	const base = 100;
	const count = 16;
	// Slow Pipedrive answers keep executions running long enough to be killed in the middle of one.
	pd.faults.delayMs = 400;
	let webhookKilled = false;
	const leads: Array<{ leadId: string }> = [];
	const posting = Promise.all(
		Array.from({ length: count }, async (_, k) => {
			await new Promise((r) => setTimeout(r, k * 150));
			if (k === count / 2 && !webhookKilled) {
				webhookKilled = true;
				await cluster.webhooks[0].kill('SIGKILL');
				setTimeout(() => void cluster.webhooks[0].restart(), 3000);
			}
			const lead = await captureLead(base + k);
			leads.push(lead);
			await sendStripe(
				'checkout/fast/stripe',
				checkoutEvent(lead.leadId, `evt_qm_kill_${k}`, 'paid', Math.ceil(Date.now() / 1000) + 1),
			);
		}),
	);

	// Kill the worker that runs an execution of the processor (its log says it started one it has not
	// finished), once the new leads are being processed.
	const started = (log: string) =>
		(log.match(/Worker started execution (\d+)/g) ?? []).map((l) => l.split(' ').pop()!);
	const finished = (log: string) =>
		new Set((log.match(/Worker finished execution (\d+)/g) ?? []).map((l) => l.split(' ').pop()!));
	const findBusy = async () =>
		await waitFor(
			'a worker in the middle of an execution',
			async () => {
				for (const worker of cluster.workers) {
					const log = worker.log();
					const done = finished(log);
					// An execution of the payment event processor: the queue trigger's message waits on it.
					const running = started(log).find(
						(id) => !done.has(id) && executionRow(cluster.database, id).workflowId === PROCESSOR_ID,
					);
					if (running) return { worker, executionId: running };
				}
				return undefined;
			},
			{ timeoutMs: 120_000, intervalMs: 100 },
		);
	// The execution may end between the look and the kill: then the kill caught nothing, and the worker
	// is started again and another execution is taken.
	let busy = await findBusy();
	let killedAt = Date.now();
	for (let attempt = 1; ; attempt++) {
		killedAt = Date.now();
		await busy.worker.kill('SIGKILL');
		const endedFirst =
			finished(busy.worker.log()).has(busy.executionId) ||
			executionRow(cluster.database, busy.executionId).status === 'success';
		if (!endedFirst) break;
		if (attempt >= 5)
			throw new Error('no execution of the processor was caught running in 5 tries');
		await busy.worker.restart();
		busy = await findBusy();
	}
	// When n8n gives the dead worker's job up: Bull's stall check fails it (the main logs it), which ends
	// the trigger's wait on that execution; the message is then retried. Its partition stands still until
	// then; the other goes on. (n8n may mark the execution's row failed sooner; the job is what the
	// trigger waits on.)
	let givenUpAt: number | undefined;
	const stallLine = `job stalled more than maxStalledCount (execution ${busy.executionId})`;
	const watch = setInterval(() => {
		if (givenUpAt === undefined && cluster.main.log().includes(stallLine)) givenUpAt = Date.now();
	}, 100);
	await posting;
	await busy.worker.restart();
	const wanted = new Map(leads.map((l) => [l.leadId, WON]));
	try {
		await waitSettled(wanted, 420_000);
	} finally {
		clearInterval(watch);
		pd.faults.delayMs = 0;
	}
	clearInterval(watch);
	const killed = executionRow(cluster.database, busy.executionId);
	expect(killed.status).not.toBe('success');
	const stallSec = ((givenUpAt ?? Date.now()) - killedAt) / 1000;
	process.stderr.write(
		givenUpAt === undefined
			? `[queue mode] worker SIGKILLed mid-execution: n8n did not report the end of execution ${busy.executionId}; the trigger's Execution Timeout (${EXECUTION_TIMEOUT_SECONDS} s) retried its message (execution ${killed.status})\n`
			: `[queue mode] worker SIGKILLed mid-execution: n8n gave the job of execution ${busy.executionId} up after ${stallSec.toFixed(1)} s (execution ${killed.status}; lock ${STALL_SETTINGS.QUEUE_WORKER_LOCK_DURATION} ms, stall check ${STALL_SETTINGS.QUEUE_WORKER_STALLED_INTERVAL} ms)\n`,
	);
	// Nothing doubled: one person per buyer, one deal per lead, one "won" per deal.
	expect(pd.state.persons.length - personsBefore).toBe(count);
	for (const { leadId } of leads) expect(dealsOf(leadId)).toHaveLength(1);
	// The stall is bounded by the lock settings, not by n8n's defaults (which gave 2 min 20 s here); when
	// n8n never reports the end, by the trigger's guard (the leads settled above in any case).
	if (givenUpAt !== undefined) expect(stallSec).toBeLessThan(N8N_DEFAULTS ? 240 : 60);
});

/** A Mercado Pago notification of a payment the gateway does not know (its dashboard's test sends one). */
async function sendUnconfirmableClaim(paymentId: string, lead: string): Promise<void> {
	const ts = String(Math.floor(Date.now() / 1000));
	const requestId = `req-${paymentId}`;
	await sendUntil(
		() =>
			cluster.webhookUrl(
				`checkout/fast/mercadopago?data.id=${paymentId}&type=payment&lead=${encodeURIComponent(lead)}`,
			),
		{
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-request-id': requestId,
				'x-signature': signMercadoPago(
					paymentId,
					requestId,
					ts,
					GATEWAY_KEYS.mercadopago.webhookSecret,
				),
			},
			body: JSON.stringify({ type: 'payment', action: 'payment.updated', data: { id: paymentId } }),
		},
		(r) => r.status === 200,
	);
}

/** A form post of a buyer with the given fields: the lead id its checkout carries. */
async function postForm(fields: Record<string, string>): Promise<string> {
	const res = await sendUntil(
		() => cluster.webhookUrl('checkout/lead'),
		{
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
			body: new URLSearchParams({
				produto: 'curso-de-fotografia',
				lgpd: 'on',
				...fields,
			}).toString(),
		},
		(r) => r.status === 303,
	);
	const location = res.headers.get('location')!;
	return gateways.checkouts.get(decodeURIComponent(location.split('/').pop()!))!.leadRef!;
}

const personsOf = (email: string) =>
	pd.state.persons.filter((p) =>
		(p.emails as Array<{ value: string }>).some(
			(e) => e.value.toLowerCase() === email.toLowerCase(),
		),
	);
const dealsOfPerson = (personId: number) =>
	pd.state.deals.filter((d) => d.person_id === personId && d.status !== 'deleted');
/** Rows of one deal carrying the same pack marker more than once (a doubled note or activity). */
function doubledByMarker(
	rows: Array<Record<string, unknown>>,
	text: (r: Record<string, unknown>) => unknown,
) {
	const seen = new Map<string, number>();
	for (const row of rows) {
		if (row.is_deleted === true) continue;
		const marker = /ref (cr:[0-9a-f]+)</.exec(String(text(row) ?? ''))?.[1];
		if (!marker) continue;
		const key = `${String(row.deal_id)} ${marker}`;
		seen.set(key, (seen.get(key) ?? 0) + 1);
	}
	return [...seen].filter(([, n]) => n > 1).map(([k]) => k);
}

/** A lead as Checkout Form → Parse makes it, for storing straight into the archive. */
function leadMessage(leadId: string, name: string, email: string, capturedAt: string) {
	return leadCapturedMessage({
		leadId,
		eventId: `${leadId}.r1`,
		revision: 'r1',
		capturedAt,
		lead: {
			name,
			email,
			product: 'Curso de fotografia',
			productKey: 'curso-de-fotografia',
			amount: PRICE,
			currency: 'BRL',
			consent: { given: true },
			utm: {},
			form: { kind: 'fields' },
		},
		payLink: { url: `http://127.0.0.1/pay?lead=${leadId}`, expiresAt: new Date().toISOString() },
	});
}

/** Pays each lead through the fast intake, noting when the intake accepted it; resolves when all are sent. */
function payAll(leadIds: string[], tag: string, paidAt: Map<string, number>): Promise<void[]> {
	return Promise.all(
		leadIds.map(async (leadId, n) => {
			await new Promise((r) => setTimeout(r, n * 200));
			await sendStripe(
				'checkout/fast/stripe',
				checkoutEvent(leadId, `evt_qf_${tag}_${n}`, 'paid', Math.ceil(Date.now() / 1000) + 1),
			);
			paidAt.set(leadId, Date.now());
		}),
	);
}

it('the fault suite: search lag, a main restarted mid-execution, resubmissions and leads out of order, overlapping rules runs, unconfirmable claims and an object S3 refuses: nothing lost or doubled, the stuck lead alone waits', async () => {
	pd.faults.delayMs = 100;
	const paidAt = new Map<string, number>(); // lead → when the intake accepted its payment
	const wonAt = new Map<string, number>(); // lead → when its deal was first seen won
	const watchWon = setInterval(() => {
		for (const leadId of paidAt.keys())
			if (!wonAt.has(leadId) && dealsOf(leadId).some((d) => d.status === 'won'))
				wonAt.set(leadId, Date.now());
	}, 100);
	const allWon = (leads: string[], what: string, timeoutMs = 240_000) =>
		waitFor(what, async () => (leads.every((l) => wonAt.has(l)) ? true : undefined), {
			timeoutMs,
			intervalMs: 250,
		});

	try {
		// Phase 1: claims the gateway never confirms (their own leads wait on their 30 s of retries) and one
		// archive object whose GET S3 always refuses (a KMS key it may not use, say), while buyers pay.
		const stuck = Array.from(
			{ length: 2 * SCALE },
			(_, i) => `0194f0c2-5555-7000-8000-${String(i).padStart(12, '0')}`,
		);
		await Promise.all(stuck.map((lead, i) => sendUnconfirmableClaim(`9990${i}`, lead)));
		const deniedMessage = leadMessage(
			'0194f0c2-dddd-7000-8000-0000000000d1',
			'Negada',
			'denied@queue.example',
			new Date().toISOString(),
		);
		const denied = await direct.archive.store({
			body: encodeMessage(deniedMessage),
			eventId: deniedMessage.eventId,
			source: 'lead',
		});
		s3Proxy.deny((r) => r.method === 'GET' && r.path.endsWith(denied.key));
		const early = await Promise.all(
			Array.from({ length: 6 * SCALE }, (_, n) => captureLead(500 + n)),
		);
		await new Promise((r) => setTimeout(r, 3000)); // the claims are in their retries by now
		await payAll(
			early.map((b) => b.leadId),
			'early',
			paidAt,
		);
		await allWon(
			early.map((b) => b.leadId),
			'every payment applied while the claims wait',
		);
		// The stall the stuck leads caused the others: from the intake's answer to the won deal.
		const latencies = early
			.map((b) => (wonAt.get(b.leadId)! - paidAt.get(b.leadId)!) / 1000)
			.sort((a, b) => a - b);
		process.stderr.write(
			`[queue faults] payment → deal won for the other leads while ${stuck.length} claims waited on their retries: median ${latencies[Math.floor(latencies.length / 2)].toFixed(1)} s, max ${latencies[latencies.length - 1].toFixed(1)} s (${latencies.length} leads)\n`,
		);
		expect(latencies[latencies.length - 1]).toBeLessThanOrEqual(20);

		// Phase 2: a buyer posting twice within a second, one three times with other data, one whose two
		// leads arrive newer first, more buyers; the main SIGKILLed and started again mid-execution.
		const outOfOrderEmail = 'out-of-order@queue.example';
		const older = leadMessage(
			'0194f0c2-0e0e-7000-8000-000000000001',
			'Fora de Ordem',
			outOfOrderEmail,
			new Date(Date.now() - 60_000).toISOString(),
		);
		const newer = leadMessage(
			'0194f0c2-0e0e-7000-8000-000000000002',
			'Fora de Ordem Silva',
			outOfOrderEmail,
			new Date().toISOString(),
		);
		for (const message of [newer, older])
			await direct.archive.store({
				body: encodeMessage(message),
				eventId: message.eventId,
				source: 'lead',
			});
		const twice = 'twice@queue.example';
		const thrice = 'thrice@queue.example';
		const [, twiceLast] = await Promise.all([
			postForm({ nome: 'Dupla Envio', email: twice }),
			new Promise<string>((resolve, reject) =>
				setTimeout(
					() => postForm({ nome: 'Dupla Envio', email: twice }).then(resolve, reject),
					300,
				),
			),
		]);
		const thriceLeads: string[] = [];
		for (const [name, phone] of [
			['Tripla', '11987654321'],
			['Tripla Souza', '11987654321'],
			['Tripla Souza', '21998765432'],
		])
			thriceLeads.push(await postForm({ nome: name, email: thrice, telefone: phone }));
		const later = await Promise.all(
			Array.from({ length: 6 * SCALE }, (_, n) => captureLead(600 + n)),
		);
		const paying = payAll(
			[...later.map((b) => b.leadId), twiceLast, thriceLeads[2]],
			'later',
			paidAt,
		);
		const started = (log: string) =>
			(log.match(/Worker started execution (\d+)/g) ?? []).map((l) => l.split(' ').pop()!);
		const finished = (log: string) =>
			new Set(
				(log.match(/Worker finished execution (\d+)/g) ?? []).map((l) => l.split(' ').pop()!),
			);
		await waitFor(
			'a worker in the middle of an execution of the processor',
			async () =>
				cluster.workers.some((worker) => {
					const done = finished(worker.log());
					return started(worker.log()).some(
						(id) => !done.has(id) && executionRow(cluster.database, id).workflowId === PROCESSOR_ID,
					);
				}) || undefined,
			{ timeoutMs: 120_000, intervalMs: 100 },
		);
		const killedAt = Date.now();
		await cluster.main.kill('SIGKILL');
		await cluster.main.restart();
		process.stderr.write(
			`[queue faults] main SIGKILLed while a worker ran an execution, answering again after ${((Date.now() - killedAt) / 1000).toFixed(1)} s\n`,
		);
		await paying;
		const wonBuyer = (email: string) =>
			personsOf(email).some((p) => dealsOfPerson(p.id).some((d) => d.status === 'won'));
		await allWon(
			later.map((b) => b.leadId),
			'every payment applied after the main restart',
			300_000,
		);
		await waitFor(
			'the resubmitting buyers paid',
			async () => (wonBuyer(twice) && wonBuyer(thrice) ? true : undefined),
			{ timeoutMs: 120_000, intervalMs: 500 },
		);

		// The oracle: the claims dead-lettered with the gateway's 404, the refused object moved aside with why.
		const dead = await waitFor(
			'the unconfirmable claims in the dead-letter queue',
			async () => {
				const got = await drainQueue(broker, topology.deadLetterQueue, 50, 500);
				return got.length >= stuck.length ? got : undefined;
			},
			{ timeoutMs: 120_000, intervalMs: 1000 },
		);
		expect(dead).toHaveLength(stuck.length);
		for (const letter of dead)
			expect(String(letter.headers['x-dead-letter-reason'])).toMatch(
				/^failed on 5 deliveries; last error: mercadopago GET \/v1\/payments\/9990\d+ failed \(HTTP 404\)/,
			);
		const aside = await waitFor(
			'the refused object moved aside',
			async () => {
				const listed = await new RelayFailures(direct.archive).listAside();
				return listed.length ? listed : undefined;
			},
			{ timeoutMs: 60_000, intervalMs: 1000 },
		);
		expect(aside.map((a) => a.key)).toEqual([denied.key]);
		expect(aside[0].reason).toMatch(/AccessDenied/);
		// The leads stored straight into the archive are in Pipedrive too (the sweep took them).
		await waitFor(
			'the out-of-order leads in Pipedrive',
			async () => (personsOf(outOfOrderEmail).length > 0 ? true : undefined),
			{ timeoutMs: 60_000, intervalMs: 500 },
		);

		// Nothing lost, nothing doubled: one person per buyer, one deal per resubmitting buyer, every paid
		// lead's one deal won; no activity or note twice; no won deal moved back.
		const emails = [
			twice,
			thrice,
			outOfOrderEmail,
			...[...early, ...later].map((_, n) =>
				n < early.length
					? `buyer${500 + n}@queue.example`
					: `buyer${600 + n - early.length}@queue.example`,
			),
		];
		for (const email of emails)
			expect({ email, persons: personsOf(email).length }).toEqual({ email, persons: 1 });
		// Each deal with its lead ids and state, so that a failure says which lead made the second one.
		const dealStory = (email: string) =>
			dealsOfPerson(personsOf(email)[0].id).map((d) => {
				const custom = (d.custom_fields ?? {}) as Record<string, unknown>;
				return `deal ${d.id} (${String(d.status)}, ${statusOf(d)}): lead ${String(custom[fieldKey('Checkout lead id')!])}, earlier ${String(custom[fieldKey('Checkout earlier lead id')!])}`;
			});
		for (const email of [twice, thrice, outOfOrderEmail])
			expect({
				email,
				deals: dealsOfPerson(personsOf(email)[0].id).length,
				leads: email === thrice ? thriceLeads : undefined,
				story: dealStory(email),
			}).toEqual({
				email,
				deals: 1,
				leads: email === thrice ? thriceLeads : undefined,
				story: dealStory(email),
			});
		// The resubmitting buyers paid through their last link: their one deal won, and no personless deal
		// was made for a lead of theirs (a payment that found no deal).
		for (const email of [twice, thrice]) {
			const [deal] = dealsOfPerson(personsOf(email)[0].id);
			expect({ email, won: deal.status, checkout: statusOf(deal) }).toEqual({
				email,
				won: 'won',
				checkout: WON,
			});
		}
		const leadKey = fieldKey('Checkout lead id')!;
		expect(
			pd.state.deals.filter(
				(d) =>
					!d.person_id &&
					[twiceLast, ...thriceLeads].includes(
						(d.custom_fields as Record<string, string>)[leadKey],
					),
			),
		).toEqual([]);
		paidAt.delete(twiceLast);
		paidAt.delete(thriceLeads[2]);
		for (const leadId of paidAt.keys()) {
			const deals = dealsOf(leadId);
			expect({
				leadId,
				deals: deals.length,
				won: deals[0]?.status,
				checkout: statusOf(deals[0]),
			}).toEqual({
				leadId,
				deals: 1,
				won: 'won',
				checkout: WON,
			});
		}
		expect(doubledByMarker(pd.state.activities, (a) => a.note)).toEqual([]);
		expect(doubledByMarker(pd.state.notes, (n) => n.content)).toEqual([]);
		expect(pd.state.deals.filter((d) => d.status === 'won' && statusOf(d) !== WON)).toEqual([]);
	} finally {
		clearInterval(watchWon);
		pd.faults.delayMs = 0;
	}
});
