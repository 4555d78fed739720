/**
 * Payment events from RabbitMQ into Pipedrive, side by side in one run (npm run bench):
 *   (a) the pack's payment event processor workflow: Checkout Queue Trigger → IF → Apply Checkout Event;
 *   (b) n8n's built-in way: RabbitMQ Trigger (ack when the execution succeeds, one at a time) → Code
 *       (JSON.parse, so a bad body fails an execution instead of wedging the queue) → the same node;
 *   (c) a raw amqplib consumer (prefetch 1, ack after) calling lib/pipedrive directly, without n8n.
 * Each target has its own queue and its own Pipedrive stand-in holding the same deals; each event is a
 * `pending` then a `paid` per lead, in two timed phases. Measured: events/s until every deal of the phase
 * is written, and Pipedrive calls per event.
 */
import type { ChannelModel } from 'amqplib';
import { join } from 'node:path';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { connectAmqp } from '../lib/amqp/connection';
import { routingKeyForKey } from '../lib/amqp/partitions';
import { partitionKeyOf } from '../lib/checkout/message';
import { declareTopology, type Topology } from '../lib/amqp/topology';
import { PipedriveClient, fetchTransport } from '../lib/pipedrive/client';
import { applyEvent, clearCaches, setupFields, upsertLead } from '../lib/pipedrive/operations';
import { REPO_ROOT, startN8n, type CredentialSpec } from '../testbench/n8n';
import {
	RABBITMQ_URL,
	connectBroker,
	deleteTopology,
	publishConfirmed,
	uniqueTopology,
} from '../testbench/rabbitmq';
import { startPipedriveStandIn, type PipedriveStandIn } from '../testbench/standins/pipedrive';
import { pipedriveCredential, rabbitCredential } from '../testbench/credentials';
import { exportedWorkflowForTest } from '../testbench/workflows';

export interface ProcessorResult {
	label: string;
	events: number;
	seconds: number;
	perSecond: number;
	callsPerEvent: number;
	/** Every deal of the phase written (and won, for the second). */
	allWon: boolean;
}

const LEADS = Number(process.env.BENCH_PROCESSOR_LEADS ?? 100);

export async function standInWithLeads(): Promise<{ pd: PipedriveStandIn; leadIds: string[] }> {
	// A high burst limit: this measures the processors, not Pipedrive's rate limits.
	const pd = await startPipedriveStandIn({ burstLimit: 100_000 });
	const client = new PipedriveClient(
		fetchTransport(pd.baseUrl, { apiToken: pd.token }),
		pd.baseUrl,
	);
	await setupFields(client, pd.baseUrl);
	const leadIds: string[] = [];
	for (let i = 0; i < LEADS; i++) {
		const leadId = `0194f0c2-bench-7000-8000-${String(i).padStart(12, '0')}`;
		await upsertLead(
			client,
			pd.baseUrl,
			{
				leadId,
				name: `Buyer ${i}`,
				email: `buyer${i}@example.com`,
				product: 'Curso',
				amount: 19790,
				currency: 'BRL',
				capturedAt: new Date(Date.now() - 3600_000).toISOString(),
			},
			{
				titleTemplate: '{{product}} – {{name}}',
				dealLookup: 'existingPersonsOnly',
				addNote: false,
			},
		);
		leadIds.push(leadId);
	}
	clearCaches(); // no target starts with this process's lead → deal cache
	return { pd, leadIds };
}

export function events(leadIds: string[], type: 'pending' | 'paid'): Array<{ eventId: string }> {
	const base = Date.now() - 1800_000 + (type === 'paid' ? 500 : 0);
	return leadIds.map((leadRef, i) => ({
		eventId: `bench:${leadRef}:${type}`,
		type,
		leadRef,
		occurredAt: new Date(base + i * 1000).toISOString(),
		provider: 'mercadopago',
		amount: 19790,
		currency: 'BRL',
	}));
}

const totalCalls = (pd: PipedriveStandIn) => [...pd.calls.values()].reduce((a, b) => a + b, 0);
const dealPatches = (pd: PipedriveStandIn) => pd.calls.get('PATCH /api/v2/deals/{id}') ?? 0;
const wonCount = (pd: PipedriveStandIn) => pd.state.deals.filter((d) => d.status === 'won').length;

/**
 * Two phases per target: every lead's first event (`pending`: its deal must be found by a search on the
 * lead id, and Pipedrive allows 10 searches per 2 s), then every lead's second event (`paid`: the deal id
 * is known, two calls). Each phase is timed until its last deal is written.
 */
export async function measure(
	label: string,
	broker: ChannelModel,
	t: Topology,
	pd: PipedriveStandIn,
	leadIds: string[],
	options: {
		partitions?: number;
		sample?: () => Record<string, number>;
		onPhase?: (phase: string, used: Record<string, number>, seconds: number) => void;
	} = {},
): Promise<ProcessorResult[]> {
	const out: ProcessorResult[] = [];
	for (const phase of ['pending', 'paid'] as const) {
		const messages = events(leadIds, phase).map((body) => ({ body, messageId: body.eventId }));
		const callsBefore = totalCalls(pd);
		const patchesBefore = dealPatches(pd);
		const before = options.sample?.();
		const t0 = performance.now();
		// Each message to its lead's partition, as the relay sends it.
		const byRoute = new Map<string, typeof messages>();
		for (const m of messages) {
			const route = routingKeyForKey(t.routingKey, options.partitions ?? 1, () =>
				partitionKeyOf(JSON.stringify(m.body), m.messageId),
			);
			byRoute.set(route, [...(byRoute.get(route) ?? []), m]);
		}
		for (const [routingKey, group] of byRoute)
			await publishConfirmed(broker, { exchange: t.exchange, routingKey }, group);
		const done = () =>
			phase === 'paid'
				? wonCount(pd) >= leadIds.length
				: dealPatches(pd) - patchesBefore >= leadIds.length;
		const deadline = Date.now() + 600_000;
		while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
		const seconds = (performance.now() - t0) / 1000;
		if (before && options.sample && options.onPhase) {
			const after = options.sample();
			options.onPhase(
				phase,
				Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)])),
				seconds,
			);
		}
		const result: ProcessorResult = {
			label: `${label}, ${phase === 'pending' ? 'first event per lead (deal search)' : 'second event per lead (deal known)'}`,
			events: messages.length,
			seconds,
			perSecond: messages.length / seconds,
			callsPerEvent: (totalCalls(pd) - callsBefore) / messages.length,
			allWon: done(),
		};
		console.log(formatProcessor([result]).split('\n').pop());
		out.push(result);
	}
	return out;
}

/** n8n's built-in path of the benchmarks: its workflow on `queue`, and the credentials it names (the RabbitMQ Trigger's, and the Pipedrive stand-in's). */
export function builtinProcessor(
	queue: string,
	pd: PipedriveStandIn,
): { workflow: string; credentials: CredentialSpec[] } {
	const workflow = join(mkdtempSync(join(tmpdir(), 'cr-wf-')), 'builtin-rabbitmq-processor.json');
	writeFileSync(
		workflow,
		readFileSync(
			join(REPO_ROOT, 'benchmarks/workflows/builtin-rabbitmq-processor.json'),
			'utf8',
		).replace('BENCH_QUEUE', queue),
	);
	return {
		workflow,
		credentials: [
			{
				id: 'crBenchRabbitMq1',
				name: 'Bench RabbitMQ (built-in)',
				type: 'rabbitmq',
				data: {
					hostname: '127.0.0.1',
					port: 5672,
					username: 'guest',
					password: 'guest',
					vhost: '/',
					ssl: false,
				},
			},
			{
				id: 'crBenchPipedrive',
				name: 'Bench Pipedrive (built-in path)',
				type: 'checkoutPipedriveApi',
				data: { apiToken: pd.token, companyDomain: '', baseUrl: pd.baseUrl },
			},
		],
	};
}

export async function processorBench(): Promise<ProcessorResult[]> {
	const broker = await connectBroker();
	const topologies = {
		ours: uniqueTopology('bench-proc-ours'),
		builtin: uniqueTopology('bench-proc-builtin'),
		raw: uniqueTopology('bench-proc-raw'),
	};
	for (const t of Object.values(topologies)) await declareTopology(broker, t);
	const ours = await standInWithLeads();
	const builtin = await standInWithLeads();
	const raw = await standInWithLeads();

	const builtinPath = builtinProcessor(topologies.builtin.queue, builtin.pd);
	const n8n = await startN8n({
		workflows: [
			exportedWorkflowForTest('payment-event-processor.json', { topology: topologies.ours }),
			builtinPath.workflow,
		],
		credentials: [
			rabbitCredential(),
			pipedriveCredential(ours.pd.baseUrl, ours.pd.token),
			...builtinPath.credentials,
		],
		ready: async () => {
			const channel = await broker.createChannel();
			channel.on('error', () => undefined);
			try {
				const [a, b] = [
					await channel.checkQueue(topologies.ours.queue),
					await channel.checkQueue(topologies.builtin.queue),
				];
				return a.consumerCount > 0 && b.consumerCount > 0;
			} finally {
				await channel.close().catch(() => undefined);
			}
		},
	});

	const results: ProcessorResult[] = [];
	try {
		results.push(
			...(await measure(
				'(a) pack: Checkout Queue Trigger → IF → Apply Checkout Event',
				broker,
				topologies.ours,
				ours.pd,
				ours.leadIds,
			)),
		);
		results.push(
			...(await measure(
				'(b) n8n built-in: RabbitMQ Trigger (ack on success, parallel 1) → Code (parse) → Apply Checkout Event',
				broker,
				topologies.builtin,
				builtin.pd,
				builtin.leadIds,
			)),
		);
		// (c) the same work without n8n
		const connection = await connectAmqp({ url: RABBITMQ_URL });
		const channel = await connection.createChannel();
		await channel.prefetch(1);
		const client = new PipedriveClient(
			fetchTransport(raw.pd.baseUrl, { apiToken: raw.pd.token }),
			raw.pd.baseUrl,
		);
		await channel.consume(topologies.raw.queue, (message) => {
			if (!message) return;
			void applyEvent(
				client,
				raw.pd.baseUrl,
				JSON.parse(message.content.toString('utf8')) as Parameters<typeof applyEvent>[2],
			).then(
				() => channel.ack(message),
				() => channel.nack(message, false, true),
			);
		});
		results.push(
			...(await measure(
				'(c) raw amqplib consumer (prefetch 1, ack after) → lib/pipedrive, no n8n',
				broker,
				topologies.raw,
				raw.pd,
				raw.leadIds,
			)),
		);
		await connection.close();
	} finally {
		await n8n.stop();
		for (const t of Object.values(topologies)) await deleteTopology(broker, t);
		await broker.close();
		for (const s of [ours, builtin, raw]) await s.pd.close();
	}
	return results;
}

export function formatProcessor(results: ProcessorResult[]): string {
	return `| processor | events | seconds | events/s | Pipedrive calls per event | every deal written |\n|---|---|---|---|---|---|\n${results
		.map(
			(r) =>
				`| ${r.label} | ${r.events} | ${r.seconds.toFixed(2)} | ${r.perSecond.toFixed(1)} | ${r.callsPerEvent.toFixed(2)} | ${r.allWon ? 'yes' : 'NO'} |`,
		)
		.join('\n')}`;
}

export const PROCESSOR_LEADS = LEADS;
