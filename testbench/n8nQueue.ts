/**
 * n8n in queue mode, as shops run it when one process is not enough: one main (triggers, schedules, the
 * editor), workers that run the executions, and webhook processors that take the public webhooks, all
 * on one PostgreSQL database and one Redis (scripts/ensure-queue-services.sh makes sure both answer on
 * loopback). Each process has its own user folder with the pack installed as a user installs it, and the
 * same encryption key. A run uses a database and a Redis key prefix of its own, and removes only those.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import { startN8n, type CredentialSpec, type N8nInstance } from './n8n';
import { waitFor } from './ports';

const PG = ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'postgres', '-Atc'];
const REDIS = ['-h', '127.0.0.1', '-p', '6379'];

function psql(sql: string): string {
	return execFileSync('psql', [...PG, sql], { encoding: 'utf8' }).trim();
}

function redis(args: string[]): string {
	return execFileSync('redis-cli', [...REDIS, ...args], { encoding: 'utf8' }).trim();
}

/** Removes this run's Redis keys (and only those), by prefix. */
function dropRedisKeys(prefix: string): number {
	// The run's prefixes are `${prefix}-bull`, `-n8n` and `-cache`, each followed by ':'.
	const keys = redis(['--scan', '--pattern', `${prefix}-*`])
		.split('\n')
		.filter(Boolean);
	for (let i = 0; i < keys.length; i += 500) redis(['del', ...keys.slice(i, i + 500)]);
	return keys.length;
}

export interface QueueClusterOptions {
	workflows: string[];
	credentials?: CredentialSpec[];
	workers?: number;
	webhookProcessors?: number;
	/** For every process (n8n settings such as QUEUE_WORKER_LOCK_DURATION). */
	env?: Record<string, string>;
	/** Main ports, when the workflows must know them before the start (pay links): webhook processors' first. */
	webhookPorts?: number[];
	/** Bench-only node packages for every process (see StartOptions.benchPackages). */
	benchPackages?: string[];
	/** Resolves true once the cluster answers as the test expects (asked after every process is up). */
	ready?: (cluster: QueueCluster) => Promise<boolean>;
}

export interface QueueCluster {
	main: N8nInstance;
	workers: N8nInstance[];
	webhooks: N8nInstance[];
	database: string;
	redisPrefix: string;
	/** A production webhook URL on webhook processor `n` (0 by default), where the public posts go. */
	webhookUrl(path: string, n?: number): string;
	/** Starts one more worker on the cluster's database and Redis. */
	addWorker(): Promise<N8nInstance>;
	stop(): Promise<void>;
}

/** One execution of the cluster's database: its workflow, how it ended and when n8n recorded its end (epoch ms; NaN if not yet). */
export function executionRow(
	database: string,
	id: string,
): { workflowId: string; status: string; stoppedAtMs: number } {
	const sql = `select "workflowId", status, round(extract(epoch from "stoppedAt") * 1000) from execution_entity where id = ${Number(id)}`;
	const out = execFileSync(
		'psql',
		['-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-Atc', sql],
		{
			encoding: 'utf8',
		},
	).trim();
	const [workflowId, status, stoppedAt] = out.split('|');
	return {
		workflowId: workflowId ?? '',
		status: status ?? '',
		stoppedAtMs: stoppedAt ? Number(stoppedAt) : Number.NaN,
	};
}

export async function startQueueCluster(options: QueueClusterOptions): Promise<QueueCluster> {
	const tag = randomBytes(4).toString('hex');
	const database = `cr_n8n_${tag}`;
	const redisPrefix = `cr-n8n-${tag}`;
	psql(`create database ${database}`);
	const env: Record<string, string> = {
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: '127.0.0.1',
		DB_POSTGRESDB_PORT: '5432',
		DB_POSTGRESDB_DATABASE: database,
		DB_POSTGRESDB_USER: 'postgres',
		DB_POSTGRESDB_PASSWORD: '',
		EXECUTIONS_MODE: 'queue',
		QUEUE_BULL_REDIS_HOST: '127.0.0.1',
		QUEUE_BULL_REDIS_PORT: '6379',
		// Every Redis name of the run under its own prefix: Bull's queue, and n8n's own keys and pub/sub
		// channels (n8n.commands, the leader key, the cache), which are "n8n:…" for every install otherwise
		// and would mix with another n8n on the same Redis.
		QUEUE_BULL_PREFIX: `${redisPrefix}-bull`,
		N8N_REDIS_KEY_PREFIX: `${redisPrefix}-n8n`,
		N8N_CACHE_REDIS_KEY_PREFIX: `${redisPrefix}-cache`,
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
		...options.env,
	};
	const started: N8nInstance[] = [];
	const workers: N8nInstance[] = [];
	const webhooks: N8nInstance[] = [];
	const stopAll = async () => {
		for (const process of started.reverse()) await process.stop().catch(() => undefined);
		try {
			psql(`drop database if exists ${database} with (force)`);
		} catch {
			/* a database still in use is dropped by the next run's cleanup of its own name only */
		}
		dropRedisKeys(redisPrefix);
	};
	try {
		// The main imports and publishes; it starts no execution until a worker is up, so its readiness
		// is its health alone.
		const main = await startN8n({
			workflows: options.workflows,
			credentials: options.credentials,
			env,
			role: 'main',
			benchPackages: options.benchPackages,
		});
		started.push(main);
		const addWorker = async () => {
			const worker = await startN8n({
				workflows: [],
				env,
				role: 'worker',
				skipImport: true,
				benchPackages: options.benchPackages,
			});
			started.push(worker);
			workers.push(worker);
			return worker;
		};
		for (let i = 0; i < (options.workers ?? 2); i++) await addWorker();
		for (let i = 0; i < (options.webhookProcessors ?? 1); i++) {
			const webhook = await startN8n({
				workflows: [],
				env,
				role: 'webhook',
				skipImport: true,
				benchPackages: options.benchPackages,
				port: options.webhookPorts?.[i],
			});
			started.push(webhook);
			webhooks.push(webhook);
		}
		const cluster: QueueCluster = {
			main,
			workers,
			webhooks,
			database,
			redisPrefix,
			webhookUrl: (path, n = 0) => webhooks[n].webhookUrl(path),
			addWorker,
			stop: stopAll,
		};
		if (options.ready) {
			const ready = options.ready;
			await waitFor(
				'the queue-mode cluster to answer',
				async () => ((await ready(cluster)) ? true : undefined),
				{ timeoutMs: 120_000, intervalMs: 500 },
			);
		}
		process.stderr.write(
			`[n8n queue] main + ${workers.length} workers + ${webhooks.length} webhook processors on database ${database}, Redis prefix ${redisPrefix}\n`,
		);
		return cluster;
	} catch (error) {
		await stopAll();
		throw error;
	}
}
