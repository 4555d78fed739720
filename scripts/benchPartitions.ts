/**
 * Payment events into Pipedrive with n8n in queue mode (a main and two workers on the machine's Postgres
 * and Redis), side by side in one run (npm run bench, or BENCH_ONLY=partitions):
 *   the pack's payment event processor with N = 1, 2 and 4 per-lead partitions, and n8n's built-in
 *   RabbitMQ Trigger (ack on success, parallel 1) feeding the same Apply Checkout Event node.
 * All four workflows are active in one cluster, each on its own queues and its own Pipedrive stand-in
 * (burst limit raised) holding the same deals; they are measured one after the other. For each phase
 * the CPU seconds that the main, the workers, Postgres and Redis used are read from /proc, to show what
 * flattens the curve.
 */
import type { ChannelModel } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

import { partitionQueues } from '../lib/amqp/partitions';
import { declareTopology, type Topology } from '../lib/amqp/topology';
import { pipedriveCredential, rabbitCredential, s3Credential } from '../testbench/credentials';
import { processCpuSeconds } from '../testbench/n8n';
import { startQueueCluster } from '../testbench/n8nQueue';
import { startS3Server } from '../testbench/s3';
import { connectBroker, deleteTopology, uniqueTopology } from '../testbench/rabbitmq';
import { exportedWorkflowForTest } from '../testbench/workflows';
import {
	builtinProcessor,
	measure,
	standInWithLeads,
	type ProcessorResult,
} from './benchProcessor';

export interface PartitionRow extends ProcessorResult {
	/** CPU cores busy on average during the phase, by process. */
	cores: Record<string, number>;
}

const PARTITION_COUNTS = [1, 2, 4];
/**
 * How long the Pipedrive stand-in takes to answer each call once the leads are in (Pipedrive's API answers
 * in 100–300 ms): with 0 ms the two cores would be the only limit and partitions could not show.
 */
export const PIPEDRIVE_ANSWER_MS = Number(process.env.BENCH_PIPEDRIVE_MS ?? 150);
const BUCKET = 'bench-partitions';

/** The exported processor, made into a workflow of its own (id, name, queues, Pipedrive credential, partitions). */
function processorCopy(n: number, topology: Topology, credentialId: string): string {
	const file = exportedWorkflowForTest('payment-event-processor.json', {
		topology,
		partitions: n,
		retryDelaySeconds: 1,
	});
	const wf = JSON.parse(readFileSync(file, 'utf8')) as {
		id: string;
		name: string;
		nodes: Array<{ credentials?: Record<string, { id: string; name: string }> }>;
	};
	wf.id = `crBenchPart${String(n).padStart(5, '0')}`;
	wf.name = `[bench] payment event processor, ${n} partition${n === 1 ? '' : 's'}`;
	for (const node of wf.nodes)
		if (node.credentials?.checkoutPipedriveApi)
			node.credentials.checkoutPipedriveApi = { id: credentialId, name: `Bench Pipedrive ${n}` };
	writeFileSync(file, JSON.stringify(wf));
	return file;
}

function pids(name: string): number[] {
	try {
		return execFileSync('pgrep', ['-x', name], { encoding: 'utf8' })
			.split('\n')
			.filter(Boolean)
			.map(Number);
	} catch {
		return [];
	}
}

export async function partitionBench(): Promise<PartitionRow[]> {
	const broker: ChannelModel = await connectBroker();
	const targets = PARTITION_COUNTS.map((n) => ({
		n,
		topology: uniqueTopology(`bench-part-${n}`),
		credentialId: `crBenchPdPart00${n}`,
	}));
	const builtinTopology = uniqueTopology('bench-part-builtin');
	for (const t of targets) await declareTopology(broker, t.topology, t.n);
	await declareTopology(broker, builtinTopology);
	const standIns = await Promise.all([
		...targets.map(async () => await standInWithLeads()),
		standInWithLeads(),
	]);
	const builtinStandIn = standIns[targets.length];
	for (const s of standIns) s.pd.faults.delayMs = PIPEDRIVE_ANSWER_MS;
	// The archive's S3 store holds the state every n8n process shares (the lead → deal map, the search
	// budget), as the shipped processor is set up: the patched s3rver honours conditional writes.
	const s3 = await startS3Server();
	await s3.createBucket(BUCKET);

	const builtinPath = builtinProcessor(builtinTopology.queue, builtinStandIn.pd);
	const cluster = await startQueueCluster({
		workers: 2,
		webhookProcessors: 0,
		workflows: [
			...targets.map((t) => processorCopy(t.n, t.topology, t.credentialId)),
			builtinPath.workflow,
		],
		credentials: [
			rabbitCredential(),
			s3Credential(s3.settings(BUCKET)),
			...targets.map((t, i) => ({
				...pipedriveCredential(standIns[i].pd.baseUrl, standIns[i].pd.token),
				id: t.credentialId,
				name: `Bench Pipedrive ${t.n}`,
			})),
			...builtinPath.credentials,
		],
		ready: async () => {
			const channel = await broker.createChannel();
			channel.on('error', () => undefined);
			try {
				const queues = [
					...targets.flatMap((t) => partitionQueues(t.topology, t.n).map((p) => p.queue)),
					builtinTopology.queue,
				];
				for (const queue of queues)
					if ((await channel.checkQueue(queue)).consumerCount === 0) return false;
				return true;
			} catch {
				return false;
			} finally {
				await channel.close().catch(() => undefined);
			}
		},
	});
	const sample = () => ({
		main: cluster.main.cpuSeconds(),
		workers: cluster.workers.reduce((sum, w) => sum + w.cpuSeconds(), 0),
		postgres: pids('postgres').reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
		redis: pids('redis-server').reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
		rabbitmq: pids('beam.smp').reduce((sum, pid) => sum + processCpuSeconds(pid), 0),
	});
	const rows: PartitionRow[] = [];
	const run = async (
		label: string,
		topology: Topology,
		standIn: (typeof standIns)[number],
		partitions: number,
	) => {
		const cores: Record<string, Record<string, number>> = {};
		const results = await measure(label, broker, topology, standIn.pd, standIn.leadIds, {
			partitions,
			sample,
			onPhase: (phase, used, seconds) => {
				cores[phase] = Object.fromEntries(Object.entries(used).map(([k, v]) => [k, v / seconds]));
			},
		});
		results.forEach((r, i) =>
			rows.push({ ...r, cores: cores[i === 0 ? 'pending' : 'paid'] ?? {} }),
		);
	};
	try {
		for (const [i, t] of targets.entries())
			await run(
				`(a) pack: Checkout Queue Trigger, ${t.n} partition${t.n === 1 ? '' : 's'}`,
				t.topology,
				standIns[i],
				t.n,
			);
		await run(
			'(b) n8n built-in: RabbitMQ Trigger (ack on success, parallel 1)',
			builtinTopology,
			builtinStandIn,
			1,
		);
	} finally {
		await cluster.stop();
		for (const t of targets) await deleteTopology(broker, t.topology, [t.n]);
		await deleteTopology(broker, builtinTopology);
		await broker.close();
		for (const s of standIns) await s.pd.close();
		await s3.destroy();
	}
	return rows;
}

export function formatPartitions(rows: PartitionRow[]): string {
	const c = (r: PartitionRow, k: string) => (r.cores[k] ?? 0).toFixed(2);
	return `| processor | events | seconds | events/s | Pipedrive calls per event | every deal written | CPU cores: main | workers | Postgres | Redis | RabbitMQ |\n|---|---|---|---|---|---|---|---|---|---|---|\n${rows
		.map(
			(r) =>
				`| ${r.label} | ${r.events} | ${r.seconds.toFixed(2)} | ${r.perSecond.toFixed(1)} | ${r.callsPerEvent.toFixed(2)} | ${r.allWon ? 'yes' : 'NO'} | ${c(r, 'main')} | ${c(r, 'workers')} | ${c(r, 'postgres')} | ${c(r, 'redis')} | ${c(r, 'rabbitmq')} |`,
		)
		.join('\n')}`;
}
