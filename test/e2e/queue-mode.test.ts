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
 *    with the shortened lock settings this suite runs with (see README, "Scaling out").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ChannelModel } from 'amqplib';

import { partitionQueues } from '../../lib/amqp/partitions';
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
import { connectBroker, deleteTopology, uniqueTopology } from '../../testbench/rabbitmq';
import { startS3Server, type S3Server } from '../../testbench/s3';
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
let s3: S3Server;
let broker: ChannelModel;
let gateways: GatewayStandIn;
let pd: PipedriveStandIn;
let cluster: QueueCluster;

beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(BUCKET);
	broker = await connectBroker();
	pd = await startPipedriveStandIn();
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
				retryDelaySeconds: 1,
				partitions: PARTITIONS,
				executionTimeoutSeconds: EXECUTION_TIMEOUT_SECONDS,
			}),
			rulesWorkflowFailedAtOnce(3),
		],
		credentials: [
			s3Credential(s3.settings(BUCKET)),
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
});

afterAll(async () => {
	await cluster?.stop();
	await gateways?.close();
	await pd?.close();
	if (broker) {
		await deleteTopology(broker, topology, [PARTITIONS]);
		await broker.close();
	}
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
