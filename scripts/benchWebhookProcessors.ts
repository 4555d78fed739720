/**
 * Intake on n8n's webhook processors (queue mode), in one run: the fast intake (Payment Webhook Trigger),
 * the lead capture workflow (its execution runs on a worker, the 303 comes back through the processor) and
 * the bench's floor trigger, each sent to one webhook processor directly, to nginx in front of that one
 * processor, and to nginx in front of two, at 10 and 50 concurrent senders.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';

import { S3Archive } from '../lib/archive/archive';
import { createS3Client } from '../lib/s3/client';
import {
	gatewayCredentials,
	GATEWAY_KEYS,
	linksCredential,
	s3Credential,
} from '../testbench/credentials';
import { runLoad, type LoadResult } from '../testbench/load';
import { FLOOR_PACKAGE, REPO_ROOT } from '../testbench/n8n';
import { startQueueCluster } from '../testbench/n8nQueue';
import { freePort } from '../testbench/ports';
import { startReverseProxy, type ReverseProxy } from '../testbench/reverseProxy';
import { startS3Server } from '../testbench/s3';
import { startGatewayStandIn } from '../testbench/standins/gateways';
import { exportedWorkflowForTest } from '../testbench/workflows';
import { eventBody, postLeadForm, postSignedEvent } from './benchBodies';

const BUCKET = 'bench-webhook-processors';
const FAST_PREFIX = 'wp-fast';
const LEAD_PREFIX = 'wp-leads';
export const WEBHOOK_FAST_REQUESTS = Number(process.env.BENCH_WP_FAST_REQUESTS ?? 900);
export const WEBHOOK_LEAD_REQUESTS = Number(process.env.BENCH_WP_LEAD_REQUESTS ?? 300);

export interface WebhookProcessorRow extends LoadResult {
	target: string;
	route: string;
	/** Cores kept busy on average during the row: the webhook processors, the workers, nginx. */
	cores: { webhooks: number; workers: number; main: number; nginx: number; s3: number };
}

export interface WebhookProcessorReport {
	rows: WebhookProcessorRow[];
	correctness: string[];
}

export async function webhookProcessorBench(): Promise<WebhookProcessorReport> {
	const s3 = await startS3Server();
	await s3.createBucket(BUCKET);
	const gateways = await startGatewayStandIn({
		stripe: GATEWAY_KEYS.stripe,
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: GATEWAY_KEYS.asaas,
	});
	const webhookPorts = [await freePort(), await freePort()];
	const cluster = await startQueueCluster({
		workers: 2,
		webhookProcessors: 2,
		webhookPorts,
		benchPackages: [FLOOR_PACKAGE],
		workflows: [
			exportedWorkflowForTest('payment-webhook-fast-intake.json', { prefix: FAST_PREFIX }),
			exportedWorkflowForTest('checkout-lead-capture.json', { prefix: LEAD_PREFIX }),
			exportedWorkflowForTest('checkout-lead-capture-fast.json', { prefix: LEAD_PREFIX }),
			join(REPO_ROOT, 'benchmarks/workflows/floor-trigger.json'),
		],
		credentials: [
			s3Credential(s3.settings(BUCKET)),
			...gatewayCredentials(gateways.baseUrl),
			linksCredential(`http://127.0.0.1:${webhookPorts[0]}/webhook/checkout/pay`),
		],
		// As the README recommends for the fast intake, on every process.
		env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
		ready: async (c) => {
			for (const n of [0, 1]) {
				const fast = await fetch(c.webhookUrl('checkout/fast/stripe', n), {
					method: 'POST',
					body: '{}',
				}).catch(() => undefined);
				const lead = await fetch(c.webhookUrl('checkout/lead', n), {
					method: 'POST',
					headers: { accept: 'application/json' },
				}).catch(() => undefined);
				const fastLead = await fetch(c.webhookUrl('checkout/lead/fast', n), {
					method: 'POST',
					headers: { accept: 'application/json' },
				}).catch(() => undefined);
				if (fast?.status !== 401 || lead?.status !== 422 || fastLead?.status !== 422) return false;
			}
			return true;
		},
	});
	const proxies: ReverseProxy[] = [];
	const rows: WebhookProcessorRow[] = [];
	const correctness: string[] = [];
	try {
		const toOne = await startReverseProxy([webhookPorts[0]]);
		proxies.push(toOne);
		const toTwo = await startReverseProxy(webhookPorts);
		proxies.push(toTwo);
		const routes = [
			{ route: 'one processor, direct', url: (p: string) => cluster.webhookUrl(p, 0) },
			{ route: 'nginx → one processor', url: toOne.url },
			{ route: 'nginx → two processors', url: toTwo.url },
		];
		// The first unexpected answer of each target, to say in the report what an error was.
		const unexpected = new Map<string, string>();
		const note = (target: string) => (status: number, body: string) => {
			if (!unexpected.has(target)) unexpected.set(target, `${status} ${body.replace(/\s+/g, ' ')}`);
		};
		const fastOk = new Set<string>();
		let leadsOk = 0;
		const targets = [
			{
				target: "n8n's floor (bench trigger, answers and does nothing)",
				requests: WEBHOOK_FAST_REQUESTS,
				send: (url: (p: string) => string, tag: string) => {
					const post = postSignedEvent(url('bench/floor'), note('floor'));
					return (i: number) => post(eventBody(i, tag));
				},
			},
			{
				target: 'pack: Payment Webhook Trigger (fast intake)',
				requests: WEBHOOK_FAST_REQUESTS,
				send: (url: (p: string) => string, tag: string) => {
					const post = postSignedEvent(url('checkout/fast/stripe'), note('fast intake'));
					return async (i: number) => {
						const body = eventBody(i, tag);
						const ok = await post(body);
						if (ok) fastOk.add(`evt_${tag}_${i}`);
						return ok;
					};
				},
			},
			{
				target:
					'pack: fast lead capture (Checkout Form Trigger: form → 303 in the handler, no execution)',
				requests: WEBHOOK_LEAD_REQUESTS,
				send: (url: (p: string) => string) => {
					const post = postLeadForm(url('checkout/lead/fast'), note('fast lead capture'));
					return async (i: number) => {
						const ok = await post(i);
						if (ok) leadsOk++;
						return ok;
					};
				},
			},
			{
				target: 'pack: lead capture (form → 303; execution on a worker)',
				requests: WEBHOOK_LEAD_REQUESTS,
				send: (url: (p: string) => string) => {
					const post = postLeadForm(url('checkout/lead'), note('lead capture'));
					return async (i: number) => {
						const ok = await post(i);
						if (ok) leadsOk++;
						return ok;
					};
				},
			},
		];
		const sample = () => ({
			webhooks: cluster.webhooks.reduce((sum, w) => sum + w.cpuSeconds(), 0),
			workers: cluster.workers.reduce((sum, w) => sum + w.cpuSeconds(), 0),
			main: cluster.main.cpuSeconds(),
			nginx: proxies.reduce((sum, p) => sum + p.cpuSeconds(), 0),
			s3: s3.cpuSeconds(),
		});
		for (const t of targets)
			for (const r of routes)
				await runLoad('warm-up', t.send(r.url, `warm-${rows.length}`), {
					requests: 20,
					concurrency: 2,
				});
		let round = 0;
		for (const concurrency of [10, 50]) {
			for (const t of targets) {
				// Alternate the order of the routes so that none always runs on warmer processes.
				for (const r of round++ % 2 ? [...routes].reverse() : routes) {
					const tag = `wp-${concurrency}-${rows.length}`;
					const before = sample();
					const result = await runLoad(`${t.target} | ${r.route}`, t.send(r.url, tag), {
						requests: t.requests,
						concurrency,
					});
					const after = sample();
					const per = (k: keyof typeof before) => (after[k] - before[k]) / result.seconds;
					const row: WebhookProcessorRow = {
						...result,
						target: t.target,
						route: r.route,
						cores: {
							webhooks: per('webhooks'),
							workers: per('workers'),
							main: per('main'),
							nginx: per('nginx'),
							s3: per('s3'),
						},
					};
					rows.push(row);
					console.log(formatWebhookProcessorRow(row));
				}
			}
		}
		// Every 200 of the fast intake is an archived event, and every 303 an archived lead.
		const client = createS3Client(s3.settings(BUCKET));
		const count = async (prefix: string, keep: (eventId: string) => boolean) => {
			const archive = new S3Archive(client, { bucket: BUCKET, prefix });
			let n = 0;
			for await (const page of archive.walk('pending'))
				for (const o of page) {
					const stored = JSON.parse((await archive.get(o.key)).body.toString('utf8')) as {
						eventId?: string;
					};
					if (keep(stored.eventId ?? '')) n++;
				}
			return n;
		};
		const fastArchived = await count(FAST_PREFIX, (id) => fastOk.has(id));
		const leadsArchived = await count(LEAD_PREFIX, () => true);
		client.destroy();
		correctness.push(
			`fast intake answered 200: ${fastOk.size} (warm-up included), archived: ${fastArchived}; lead capture (fast and visual) answered 303: ${leadsOk} (warm-up included), leads archived: ${leadsArchived}`,
		);
		for (const [target, answer] of unexpected)
			correctness.push(`first unexpected answer of the ${target}: ${answer}`);
		correctness.forEach((line) => console.log(line));
		const dead = rows.filter((r) => r.ok === 0);
		if (dead.length)
			throw new Error(
				`no request answered as expected in: ${dead.map((r) => `${r.target} (${r.route}, ${r.concurrency})`).join('; ')}; ${correctness.join('; ')}`,
			);
	} finally {
		for (const p of proxies) await p.stop();
		await cluster.stop();
		await gateways.close();
		await s3.destroy();
	}
	return { rows, correctness };
}

const f1 = (n: number) => n.toFixed(1);

function formatWebhookProcessorRow(r: WebhookProcessorRow): string {
	return `| ${r.target} | ${r.route} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${f1(r.perSecond)} | ${f1(r.p50Ms)} | ${f1(r.p99Ms)} | ${r.cores.webhooks.toFixed(2)} | ${r.cores.workers.toFixed(2)} | ${r.cores.nginx.toFixed(2)} | ${r.cores.s3.toFixed(2)} |`;
}

export function formatWebhookProcessors(report: WebhookProcessorReport): string {
	const table = `| target | route | concurrent senders | requests | errors | requests/s | p50 ms | p99 ms | CPU cores: webhook processors | workers | nginx | S3 server |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n${report.rows.map(formatWebhookProcessorRow).join('\n')}`;
	const gains = [...new Set(report.rows.map((r) => `${r.target}|${r.concurrency}`))]
		.map((key) => {
			const [target, c] = key.split('|');
			const of = (route: string) =>
				report.rows.find(
					(r) => r.target === target && String(r.concurrency) === c && r.route === route,
				);
			const one = of('nginx → one processor');
			const two = of('nginx → two processors');
			return one && two
				? `| ${target} | ${c} | ${(two.perSecond / one.perSecond).toFixed(2)}× | ${(two.p99Ms / one.p99Ms).toFixed(2)} |`
				: '';
		})
		.filter(Boolean)
		.join('\n');
	return `${table}\n\n| target | concurrent senders | two processors / one, requests/s | two / one, p99 |\n|---|---|---|---|\n${gains}\n\nCorrectness under that load: ${report.correctness.join('; ') || 'not measured in this run'}. The machine has ${cpus().length} cores, shared by every process of the table and the load generator.`;
}
