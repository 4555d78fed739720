/**
 * The fault matrix: the whole pipeline as it runs in production (the real n8n with the pack and the
 * exported workflows: lead capture, fast intake, sweep, processor, follow-up rules; a real S3 server and
 * RabbitMQ; the Pipedrive and gateway stand-ins), fed thousands of leads and signed payment events while
 * everything that can fail does:
 *  - S3 answers lost after the write (object and id-marker PUTs), through a proxy that also answers 412 to
 *    a second If-None-Match write as AWS S3 and MinIO do;
 *  - S3 unreachable for 30 s while leads and webhooks come in (senders get 5xx and retry);
 *  - gateways resending events (each delivered up to three times), out of order;
 *  - n8n's RabbitMQ connection cut every few seconds, and the RabbitMQ node itself restarted mid-sweep
 *    and mid-consume (a node of the bench's own, on its own port and data: never the machine's broker);
 *  - Pipedrive answers lost after the work, 500s and dropped connections at random, a 429 storm, a 401
 *    spell and slow answers;
 *  - n8n killed with SIGKILL mid-sweep (during the intake) and mid-execution, and started again;
 *  - poison messages put on the queue on purpose.
 * Then it checks what the buyer and the salesperson would: one person per buyer, one deal per lead in the
 * state its latest event says (won only when paid in full), one lead note per deal, one refund note per
 * refund, at most one activity per deal and rule (done once paid), nothing left pending, and the
 * dead-letter queue holding exactly the poisoned messages, each with its reason.
 * Repeatable: the event mix and the faults come from a seeded generator.
 */
import type { ChannelModel } from 'amqplib';

import { S3Archive } from '../lib/archive/archive';
import { applyCheckoutEvent, type DealCheckoutState } from '../lib/checkout/state';
import { signStripePayload } from '../lib/gateways/stripe';
import { STATUS_LABELS } from '../lib/pipedrive/fields';
import { createS3Client } from '../lib/s3/client';
import { executionErrors, startN8n, type N8nInstance } from './n8n';
import { freePort, waitFor } from './ports';
import { connectBroker, drainQueue, publishConfirmed, uniqueTopology } from './rabbitmq';
import { startRabbitNode } from './rabbitmqNode';
import { startS3FaultProxy } from './s3FaultProxy';
import { startS3Server } from './s3';
import { startGatewayStandIn } from './standins/gateways';
import { startPipedriveStandIn } from './standins/pipedrive';
import { startTcpProxy } from './tcpProxy';
import {
	GATEWAY_KEYS,
	gatewayCredentials,
	linksCredential,
	pipedriveCredential,
	rabbitCredential,
	s3Credential,
} from './credentials';
import { stripeEventBody, type StripeStep } from './stripeEvents';
import { exportedWorkflowForTest, rulesWorkflowFailedAtOnce } from './workflows';

export interface FaultMatrixOptions {
	leads: number;
	seed: number;
	/** Share of gateway events sent twice. */
	duplicateRate?: number;
	/** Give up after this long (the report then lists what was not reached). */
	timeoutMs?: number;
	log?: (line: string) => void;
}

export interface FaultMatrixReport {
	seed: number;
	leads: number;
	paymentEvents: number;
	/** Requests sent to n8n: lead posts and webhook deliveries, duplicates and retries included. */
	deliveries: number;
	faults: Record<string, number>;
	outcome: {
		deals: number;
		persons: number;
		won: number;
		statuses: Record<string, number>;
		leadNotes: number;
		refundNotes: number;
		activities: number;
		deadLettered: number;
		pendingInArchive: number;
	};
	/** Pipedrive calls in all, and per lead or payment event (distinct, duplicates not counted). */
	pipedrive: { calls: number; perEvent: number };
	/** The most resident memory n8n (with its task runner) had, sampled every second. */
	peakMemoryMiB: number;
	timings: { intakeMs: number; drainMs: number; totalMs: number };
	problems: string[];
	ok: boolean;
}

/** A small, seeded PRNG (mulberry32): the same seed, the same run. */
export function seeded(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

type Step = StripeStep;
/** What a checkout goes through, as a gateway reports it. */
const STORIES: Step[][] = [
	['pending', 'failed', 'pending', 'paid'],
	['failed', 'failed', 'pending', 'paid', 'refunded'],
	['pending', 'failed', 'pending', 'expired'],
	['pending', 'paid', 'refunded', 'refunded'],
	['failed', 'pending', 'failed'],
	['pending', 'pending', 'expired', 'paid'],
	['failed', 'pending', 'paid'],
	['pending', 'failed', 'failed', 'expired'],
	['pending', 'paid', 'refunded'],
	['expired', 'pending', 'failed', 'pending', 'paid'],
];
const PRICE = 19990;

interface PlannedEvent {
	leadIndex: number;
	eventId: string;
	type: Step;
	createdSec: number;
	body: string;
}

function stripeEvent(
	leadId: string,
	i: number,
	k: number,
	type: Step,
	createdSec: number,
): PlannedEvent & { leadIndex: number } {
	const id = `evt_fm_${i}_${k}`;
	return {
		leadIndex: i,
		eventId: id,
		type,
		createdSec,
		body: stripeEventBody({
			id,
			leadId,
			step: type,
			createdSec,
			amount: PRICE,
			sessionId: `cs_fm_${i}`,
			chargeId: `ch_fm_${i}`,
		}),
	};
}

async function inParallel<T>(
	items: T[],
	concurrency: number,
	work: (item: T, index: number) => Promise<void>,
): Promise<void> {
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(concurrency, items.length) }, async () => {
			for (;;) {
				const index = next++;
				if (index >= items.length) return;
				await work(items[index], index);
			}
		}),
	);
}

/**
 * The live deals of a lead, as the salesperson finds them: the deal it made, or the deal it was recorded on
 * as the buyer's other submission ("Checkout earlier lead id"). A buyer whose form post was stored but
 * whose answer was lost posts again and gets a second lead id; that lead's gateway events carry the
 * second id, and the deal keeps the first with the second recorded on it. The progress check and the
 * final check both find a lead's deal this way (the progress check once looked at "Checkout lead id"
 * only, never counted such a lead as settled, and the run waited out its whole deadline).
 */
export function leadDeals(
	deals: Array<Record<string, unknown>>,
	dealFields: Array<Record<string, unknown>>,
	leadId: string,
): Array<Record<string, unknown>> {
	const keys = ['Checkout lead id', 'Checkout earlier lead id'].flatMap((name) => {
		const key = dealFields.find((f) => f.name === name)?.key;
		return typeof key === 'string' ? [key] : [];
	});
	return deals.filter(
		(d) =>
			d.status !== 'deleted' &&
			keys.some((k) => (d.custom_fields as Record<string, unknown> | undefined)?.[k] === leadId),
	);
}

export async function runFaultMatrix(options: FaultMatrixOptions): Promise<FaultMatrixReport> {
	const log = options.log ?? (() => undefined);
	const random = seeded(options.seed);
	const started = Date.now();
	const deadline = started + (options.timeoutMs ?? 45 * 60_000);
	const problems: string[] = [];
	const faults: Record<string, number> = {};
	const count = (kind: string, n = 1) => (faults[kind] = (faults[kind] ?? 0) + n);

	const bucket = 'matrix';
	const prefix = 'checkout';
	const s3 = await startS3Server();
	await s3.createBucket(bucket);
	const s3Proxy = await startS3FaultProxy(s3.settings(bucket));
	const rabbit = await startRabbitNode('faults');
	const amqpProxy = await startTcpProxy(rabbit.port);
	const topology = uniqueTopology('fault-matrix');
	/** A short connection to the bench's node (which restarts under the run, so nothing is kept open). */
	const onBroker = async <T>(work: (connection: ChannelModel) => Promise<T>): Promise<T> => {
		const connection = await connectBroker(rabbit.url);
		try {
			return await work(connection);
		} finally {
			await connection.close().catch(() => undefined);
		}
	};
	/** Restarts the node in the background; the run goes on, and its clients reconnect. */
	let restartingBroker: Promise<void> | undefined;
	const restartBroker = (when: string) => {
		count(`RabbitMQ node restarted ${when}`);
		log(`[faults] restarting the RabbitMQ node ${when}`);
		restartingBroker = (async () => {
			await rabbit.kill('SIGTERM');
			await new Promise((r) => setTimeout(r, 2000));
			await rabbit.start();
		})();
	};
	const gateways = await startGatewayStandIn({
		stripe: GATEWAY_KEYS.stripe,
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: GATEWAY_KEYS.asaas,
	});
	const pd = await startPipedriveStandIn({ burstLimit: 100_000 });
	const port = await freePort();
	let n8n: N8nInstance | undefined;
	const timers: NodeJS.Timeout[] = [];
	const archive = new S3Archive(createS3Client(s3.settings(bucket)), { bucket, prefix });
	try {
		n8n = await startN8n({
			port,
			workflows: [
				exportedWorkflowForTest('checkout-lead-capture.json', { prefix }),
				exportedWorkflowForTest('payment-webhook-fast-intake.json', { prefix }),
				exportedWorkflowForTest('archive-sweep.json', { prefix, topology, scheduleSeconds: 2 }),
				exportedWorkflowForTest('payment-event-processor.json', {
					topology,
					retryDelaySeconds: 1,
					pauseProbeSeconds: 2,
				}),
				rulesWorkflowFailedAtOnce(5),
			],
			credentials: [
				s3Credential({ ...s3.settings(bucket), endpoint: s3Proxy.endpoint }),
				rabbitCredential(amqpProxy.port),
				...gatewayCredentials(gateways.baseUrl),
				pipedriveCredential(pd.baseUrl, pd.token),
				linksCredential(`http://127.0.0.1:${port}/webhook/checkout/pay`),
			],
			env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
			ready: async (instance) =>
				(await fetch(instance.webhookUrl('checkout/fast/stripe'), { method: 'POST', body: '{}' }))
					.status === 401,
		});
		const instance = n8n;
		let deliveries = 0;
		let peakMemoryMiB = 0;
		timers.push(
			setInterval(() => (peakMemoryMiB = Math.max(peakMemoryMiB, instance.memoryMiB())), 1000),
		);
		/** A sender that retries as gateways and browsers do: with backoff, for up to four minutes. */
		const retryFor = 240_000;
		// Should s3rver, the bench's S3, still fall over under this load (its folder race is closed by
		// s3rver-patch.js), it is an S3 outage like any other (503s, retries), and it is started again on
		// its data, as an operator would; the report counts it.
		let restarting = false;
		timers.push(
			setInterval(() => {
				const reason = s3.crashed();
				if (!reason || restarting) return;
				restarting = true;
				count('S3 server crashed and restarted (an outage)');
				log(`[faults] the S3 server fell over (${reason.slice(0, 200)}); starting it again`);
				void s3.start().finally(() => (restarting = false));
			}, 500),
		);

		// ---- intake: leads through the lead capture workflow, then the gateways' events ----
		s3Proxy.loseAnswersRandomly(
			(r) => r.method === 'PUT' && (r.path.includes('/ids/') || r.path.includes('/pending/')),
			0.03,
			random,
		);
		const intakeStarted = Date.now();
		const leadIds: string[] = new Array(options.leads);
		const capturedSec: number[] = new Array(options.leads);
		let outageStarted = false;
		await inParallel([...Array(options.leads).keys()], 8, async (i) => {
			if (!outageStarted && i >= options.leads / 4) {
				outageStarted = true;
				s3Proxy.unreachable = true;
				count('S3 unreachable for 30 s at intake (senders got 5xx and retried)');
				log('[faults] S3 unreachable for 30 s');
				setTimeout(() => (s3Proxy.unreachable = false), 30_000);
			}
			const firstTry = Date.now();
			for (let attempt = 1; ; attempt++) {
				deliveries++;
				const res = await fetch(instance.webhookUrl('checkout/lead'), {
					method: 'POST',
					headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
					body: new URLSearchParams({
						nome: `Comprador ${i}`,
						email: `buyer${i}@matrix.example`,
						produto: 'curso-de-fotografia',
						lgpd: 'on',
					}).toString(),
					redirect: 'manual',
				}).catch(() => undefined);
				if (res?.status === 303) {
					leadIds[i] = gateways.checkouts.get(
						decodeURIComponent(res.headers.get('location')!.split('/').pop()!),
					)!.leadRef!;
					capturedSec[i] = Math.ceil(Date.now() / 1000);
					return;
				}
				const text = (await res?.text().catch(() => undefined)) ?? '';
				count(
					`lead post answered ${res?.status ?? 'nothing'}${res?.status === 200 && text.includes('Tentar novamente') ? ' (retry page)' : ''} (the buyer posts again)`,
				);
				if (Date.now() - firstTry > retryFor)
					throw new Error(
						`lead ${i} was refused ${attempt} times; last answer ${res?.status}: ${text.slice(0, 120)}\nS3 proxy forward errors: ${JSON.stringify(s3Proxy.forwardErrors)}\n${executionErrors(instance, 5).join('\n')}`,
					);
				await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
			}
		});
		log(`[faults] ${options.leads} leads captured`);

		// Each checkout's events follow its capture, a second apart (gateways stamp them in seconds).
		const events: PlannedEvent[] = [];
		leadIds.forEach((leadId, i) => {
			const story = STORIES[Math.floor(random() * STORIES.length)];
			story.forEach((type, k) =>
				events.push(stripeEvent(leadId, i, k, type, capturedSec[i] + 1 + k)),
			);
		});
		// Gateways send in their own order, and resend.
		const rate = options.duplicateRate ?? 0.2;
		const sends = [
			...events,
			...events.filter(() => random() < rate),
			...events.filter(() => random() < rate / 2),
		];
		for (let i = sends.length - 1; i > 0; i--) {
			const j = Math.floor(random() * (i + 1));
			[sends[i], sends[j]] = [sends[j], sends[i]];
		}
		count('gateway resends', sends.length - events.length);
		let brokerRestarted = false;
		let n8nKilledAtIntake = false;
		await inParallel(sends, 16, async (event, index) => {
			if (!brokerRestarted && index >= sends.length / 3) {
				brokerRestarted = true;
				restartBroker('mid-sweep (during the intake)');
			}
			if (!n8nKilledAtIntake && index >= (sends.length * 2) / 3) {
				n8nKilledAtIntake = true;
				count('n8n SIGKILLed mid-sweep (during the intake) and restarted');
				log('[faults] SIGKILL n8n during the intake; starting it again');
				void instance.kill('SIGKILL').then(() => instance.restart());
			}
			const firstTry = Date.now();
			for (let attempt = 1; ; attempt++) {
				deliveries++;
				const res = await fetch(instance.webhookUrl('checkout/fast/stripe'), {
					method: 'POST',
					headers: {
						'content-type': 'application/json',
						'stripe-signature': signStripePayload(
							event.body,
							GATEWAY_KEYS.stripe.webhookSecret,
							Math.floor(Date.now() / 1000),
						),
					},
					body: event.body,
				}).catch(() => undefined);
				await res?.text().catch(() => undefined);
				if (res?.status === 200) return;
				count(`webhook answered ${res?.status ?? 'nothing'} (the gateway retries)`);
				if (Date.now() - firstTry > retryFor)
					throw new Error(`event ${event.eventId} was refused ${attempt} times`);
				await new Promise((r) => setTimeout(r, Math.min(2000, 50 * attempt)));
			}
		});
		const intakeMs = Date.now() - intakeStarted;
		log(
			`[faults] ${sends.length} webhook deliveries answered 200 (${events.length} distinct events) in ${(intakeMs / 1000).toFixed(0)} s`,
		);

		// ---- drain, under faults ----
		await restartingBroker;
		await waitFor(
			'n8n back after its kill during the intake',
			async () =>
				(
					await fetch(instance.webhookUrl('checkout/fast/stripe'), {
						method: 'POST',
						body: '{}',
					}).catch(() => undefined)
				)?.status === 401
					? true
					: undefined,
			{ timeoutMs: 180_000 },
		);
		// Messages that can never apply, put on the queue on purpose: they, and only they, end dead-lettered.
		const poisoned = [
			{ messageId: 'poison-not-json', body: '{"this is": not json' },
			{ messageId: 'poison-array', body: '[1, 2, 3]' },
			{
				messageId: 'poison-bad-time',
				body: {
					eventId: 'poison-bad-time',
					type: 'paid',
					occurredAt: 'yesterday',
					leadRef: leadIds[0],
					provider: 'stripe',
				},
			},
		];
		await onBroker(async (connection) =>
			publishConfirmed(
				connection,
				topology,
				poisoned.map((p) => ({ ...p, headers: { 'x-source': 'fault-matrix' } })),
			),
		);
		count('poison messages put on the queue', poisoned.length);
		pd.faults.randomly = { loseAnswerRate: 0.02, serverErrorRate: 0.01, dropRate: 0.01, random };
		timers.push(
			setInterval(() => {
				amqpProxy.cut();
				count('RabbitMQ connection cuts');
				setTimeout(() => amqpProxy.restore(), 500);
			}, 20_000),
		);
		// Faults by progress (share of leads in their final state), so that a small run sees every one too.
		const spells: Array<{ at: number; fire: () => void }> = [
			{ at: 0.15, fire: () => restartBroker('mid-consume') },
			{
				at: 0.3,
				fire: () => {
					pd.faults.unauthorized = true;
					count('Pipedrive 401 spells (10 s)');
					setTimeout(() => (pd.faults.unauthorized = false), 10_000);
				},
			},
			{
				at: 0.6,
				fire: () => {
					pd.faults.delayMs = 400;
					count('Pipedrive slow spells (400 ms per answer, 15 s)');
					setTimeout(() => (pd.faults.delayMs = 0), 15_000);
				},
			},
			{
				at: 0.75,
				fire: () => {
					pd.faults.rateLimitStorm = true;
					count('Pipedrive 429 storms');
					setTimeout(() => (pd.faults.rateLimitStorm = false), 5_000);
				},
			},
		];

		// The expected end state of every lead, from the pure state machine.
		const expected = leadIds.map(() => undefined as DealCheckoutState | undefined);
		const startedState = (i: number): DealCheckoutState => ({
			status: 'started',
			lastEventAt: new Date((capturedSec[i] - 1) * 1000).toISOString(),
			appliedEventIds: [],
		});
		for (const event of [...events].sort((a, b) => a.createdSec - b.createdSec)) {
			const current = expected[event.leadIndex] ?? startedState(event.leadIndex);
			expected[event.leadIndex] = applyCheckoutEvent(
				current,
				{
					eventId: event.eventId,
					type: event.type,
					occurredAt: new Date(event.createdSec * 1000).toISOString(),
					amount: PRICE,
					currency: 'BRL',
				},
				{ amount: PRICE, currency: 'BRL' },
			).next;
		}
		const wantedLabel = leadIds.map(
			(_, i) => STATUS_LABELS[(expected[i] ?? startedState(i)).status],
		);
		const fieldKey = (name: string) =>
			pd.state.dealFields.find((f) => f.name === name)?.key as string | undefined;
		const leadKey = () => fieldKey('Checkout lead id');
		const dealsOfLead = (id: string) => leadDeals(pd.state.deals, pd.state.dealFields, id);
		const statusOf = (deal: Record<string, unknown>) => {
			const field = pd.state.dealFields.find((f) => f.name === 'Checkout status');
			const id = (deal.custom_fields as Record<string, unknown>)?.[field?.key as string];
			return (field?.options as Array<{ id: number; label: string }> | undefined)?.find(
				(o) => o.id === id,
			)?.label;
		};
		const settled = () => {
			if (!leadKey()) return 0;
			return leadIds.filter((id, i) => {
				const deals = dealsOfLead(id);
				return deals.length === 1 && deals[0].person_id && statusOf(deals[0]) === wantedLabel[i];
			}).length;
		};
		const drainStarted = Date.now();
		let lastProgressLog = 0;
		let killed = false;
		for (;;) {
			const done = settled();
			for (const spell of spells.filter((sp) => done >= sp.at * leadIds.length)) {
				spells.splice(spells.indexOf(spell), 1);
				spell.fire();
			}
			if (!killed && done >= leadIds.length / 2) {
				killed = true;
				log('[faults] SIGKILL n8n in the middle of the drain; starting it again');
				await instance.kill('SIGKILL');
				count('n8n SIGKILLed mid-execution and restarted');
				await instance.restart();
			}
			if (done === leadIds.length) break;
			if (Date.now() > deadline) {
				problems.push(`timed out with ${done} of ${leadIds.length} leads in their expected state`);
				break;
			}
			if (Date.now() - lastProgressLog > 10_000) {
				lastProgressLog = Date.now();
				log(
					`[faults] ${done}/${leadIds.length} leads in their expected state, ${((Date.now() - drainStarted) / 1000).toFixed(0)} s`,
				);
			}
			await new Promise((r) => setTimeout(r, 1000));
		}
		for (const t of timers) clearInterval(t);
		await restartingBroker;
		amqpProxy.restore();
		pd.faults.randomly = undefined;
		pd.faults.rateLimitStorm = false;
		pd.faults.unauthorized = false;
		pd.faults.delayMs = 0;
		if (spells.length)
			problems.push(`the run settled before these faults: ${spells.map((sp) => sp.at).join(', ')}`);
		// Let what is still in flight finish before anything is judged: the queue is drained once no message
		// is ready and none is held by the trigger. Its consumer holds up to 32 delivered messages unacked
		// (its window) while it works through them one at a time, and an AMQP queue.declare counts only the
		// ready ones: judged on that count, a run ended by its deadline (or by every lead matching for a
		// moment) was checked with those messages still unhandled, and their events were reported as never
		// applied, with nothing pending and nothing dead-lettered. The node refreshes its counts every 5 s:
		// empty counts once it stayed so for longer.
		let depth: { ready: number; unacked: number } | undefined;
		let emptySince: number | undefined;
		await waitFor(
			'the queue drained',
			async () => {
				depth = await rabbit.queueDepth(topology.queue).catch(() => undefined);
				if (!depth || depth.ready + depth.unacked > 0) emptySince = undefined;
				else emptySince ??= Date.now();
				return emptySince !== undefined && Date.now() - emptySince >= 10_000 ? true : undefined;
			},
			{ timeoutMs: Math.max(120_000, deadline - Date.now()), intervalMs: 1000 },
		).catch(() =>
			problems.push(
				`the queue did not drain: ${depth ? `${depth.ready} messages ready, ${depth.unacked} held by the trigger unacked` : 'its depth could not be read'}`,
			),
		);
		// Then what the last executions set off (refund notes, follow-ups being closed, the rules) finishes.
		await new Promise((r) => setTimeout(r, 15_000));
		const drainMs = Date.now() - drainStarted;

		// ---- what the salesperson sees ----
		const liveDeals = pd.state.deals.filter((d) => d.status !== 'deleted');
		const statuses: Record<string, number> = {};
		leadIds.forEach((id, i) => {
			const deals = dealsOfLead(id);
			if (deals.length !== 1)
				return void problems.push(`lead ${i} (${id}) has ${deals.length} deals`);
			const label = statusOf(deals[0]) ?? 'none';
			statuses[label] = (statuses[label] ?? 0) + 1;
			if (label !== wantedLabel[i]) {
				// What the deal applied against what was sent, so that a failing run says where an event went missing.
				const custom = (deals[0].custom_fields ?? {}) as Record<string, unknown>;
				const applied = String(custom[fieldKey('Checkout events applied') as string] ?? '');
				const appliedIds = new Set(applied.split(/\s+/));
				const lastEventAt = String(custom[fieldKey('Checkout last event time') as string] ?? '');
				// "Checkout events applied" lists what changed the deal: an event that changed nothing when it
				// came (older than the state then, or after the payment) is not in it, and is not missing.
				const whyUnlisted = (e: PlannedEvent) =>
					e.type !== 'paid' &&
					e.type !== 'refunded' &&
					(label === 'Paid' || new Date(e.createdSec * 1000).toISOString() <= lastEventAt)
						? ' (not listed: older than the state, or after the payment; ignored, or never applied)'
						: ' (NOT APPLIED)';
				const story = events
					.filter((e) => e.leadIndex === i)
					.map(
						(e) =>
							`${e.eventId}:${e.type}@${e.createdSec}${appliedIds.has(e.eventId) ? '' : whyUnlisted(e)}`,
					);
				problems.push(
					`lead ${i} (${id}) ends ${label}, its events say ${wantedLabel[i]}: ${story.join(', ')}; deal ${String(deals[0].id)} applied "${applied}", last event time ${lastEventAt}`,
				);
				// Where each event that never applied went, as the consumer logged it (delivered, handled,
				// dropped as a duplicate, failed...): the trail a failing run leaves for whoever debugs it.
				const log = n8n?.log() ?? '';
				for (const e of events.filter((x) => x.leadIndex === i && !appliedIds.has(x.eventId))) {
					const lines = log
						.split('\n')
						.filter((line) => line.includes(e.eventId))
						.map((line) => line.replace(/\s+/g, ' ').slice(0, 220));
					problems.push(
						`  ${e.eventId} in n8n's log: ${lines.length ? lines.slice(-8).join(' | ') : '(never mentioned)'}`,
					);
				}
			}
			if ((deals[0].status === 'won') !== (wantedLabel[i] === 'Paid'))
				problems.push(`lead ${i}: deal ${deals[0].status}, expected ${wantedLabel[i]}`);
		});
		if (liveDeals.length !== leadIds.length)
			problems.push(`${liveDeals.length} deals for ${leadIds.length} leads`);
		const emails = new Map<string, number>();
		for (const p of pd.state.persons)
			for (const e of (p.emails as Array<{ value: string }>) ?? [])
				emails.set(e.value, (emails.get(e.value) ?? 0) + 1);
		for (const [email, n] of emails) if (n !== 1) problems.push(`${n} persons with ${email}`);
		if (pd.state.persons.length !== leadIds.length)
			problems.push(`${pd.state.persons.length} persons for ${leadIds.length} buyers`);
		const leadNotes = pd.state.notes.filter((n) => String(n.content).includes('Checkout lead'));
		const refundNotes = pd.state.notes.filter((n) =>
			String(n.content).includes('Payment refunded'),
		);
		const perDeal = (rows: Array<Record<string, unknown>>) => {
			const m = new Map<unknown, number>();
			for (const r of rows) m.set(r.deal_id, (m.get(r.deal_id) ?? 0) + 1);
			return m;
		};
		for (const [deal, n] of perDeal(leadNotes))
			if (n !== 1) problems.push(`deal ${String(deal)} has ${n} lead notes`);
		const refundsPlanned = new Map<string, number>();
		for (const e of events)
			if (e.type === 'refunded')
				refundsPlanned.set(
					leadIds[e.leadIndex],
					(refundsPlanned.get(leadIds[e.leadIndex]) ?? 0) + 1,
				);
		if (refundNotes.length !== [...refundsPlanned.values()].reduce((a, b) => a + b, 0))
			problems.push(
				`${refundNotes.length} refund notes for ${[...refundsPlanned.values()].reduce((a, b) => a + b, 0)} refunds`,
			);
		const activities = pd.state.activities.filter((a) => a.is_deleted !== true);
		const perDealRule = new Map<string, number>();
		for (const a of activities) {
			const k = `${String(a.deal_id)} ${String(a.subject).split(':')[0]}`;
			perDealRule.set(k, (perDealRule.get(k) ?? 0) + 1);
			const deal = pd.state.deals.find((d) => d.id === a.deal_id);
			if (deal?.status === 'won' && a.done !== true)
				problems.push(`activity ${a.id} of won deal ${deal.id} is still open`);
		}
		for (const [k, n] of perDealRule)
			if (n > 1) problems.push(`${n} activities for deal and rule ${k}`);
		const deadLetters = await onBroker(async (connection) =>
			drainQueue(connection, topology.deadLetterQueue, 1000, 2000),
		);
		const dead = deadLetters.length;
		const deadIds = deadLetters.map((d) => d.messageId ?? '(no id)').sort();
		const wantedDead = poisoned.map((p) => p.messageId).sort();
		if (JSON.stringify(deadIds) !== JSON.stringify(wantedDead))
			problems.push(
				`dead-lettered ${JSON.stringify(deadIds)}, poisoned ${JSON.stringify(wantedDead)}`,
			);
		for (const d of deadLetters)
			if (!d.headers['x-dead-letter-reason'])
				problems.push(`dead letter ${d.messageId ?? ''} has no reason`);
		let pending = 0;
		for await (const page of archive.walk('pending')) pending += page.length;
		if (pending) problems.push(`${pending} objects still pending in the archive`);

		count('S3 answers lost after the write', s3Proxy.lostAnswers);
		// Requests that met the S3 server down (it fell over and was being started again): part of that outage.
		// Requests the proxy could not pass on (the server down while it restarted, or an answer of s3rver's
		// it could not parse): the client saw its connection reset, an S3 fault like the others.
		for (const [code, n] of Object.entries(s3Proxy.forwardErrors)) {
			if (faults['S3 server crashed and restarted (an outage)'] && /ECONN/.test(code))
				count(`S3 unreachable during the outage (${code})`, n);
			else count(`S3 connection reset by the bench's proxy (${code})`, n);
		}
		count('S3 412 (conditional write refused)', s3Proxy.preconditionFailures);
		for (const [kind, n] of Object.entries(pd.faults.injected ?? {})) count(`Pipedrive ${kind}`, n);
		const pipedriveCalls = [...pd.calls.values()].reduce((a, b) => a + b, 0);
		return {
			seed: options.seed,
			leads: leadIds.length,
			paymentEvents: events.length,
			deliveries,
			faults,
			outcome: {
				deals: liveDeals.length,
				persons: pd.state.persons.length,
				won: liveDeals.filter((d) => d.status === 'won').length,
				statuses,
				leadNotes: leadNotes.length,
				refundNotes: refundNotes.length,
				activities: activities.length,
				deadLettered: dead,
				pendingInArchive: pending,
			},
			pipedrive: {
				calls: pipedriveCalls,
				perEvent: Math.round((pipedriveCalls / (leadIds.length + events.length)) * 100) / 100,
			},
			peakMemoryMiB,
			timings: { intakeMs, drainMs, totalMs: Date.now() - started },
			problems: problems.slice(0, 50),
			ok: problems.length === 0,
		};
	} finally {
		for (const t of timers) clearInterval(t);
		await n8n?.stop().catch(() => undefined);
		await amqpProxy.close();
		await rabbit.destroy();
		await s3Proxy.close();
		await pd.close();
		await gateways.close();
		await s3.destroy();
	}
}
