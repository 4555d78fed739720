/**
 * A RabbitMQ node of the bench's own, for the faults that need a broker restart: its own node name, port,
 * data and log folders, no plugins, bound to loopback. The machine's broker is never restarted; this one
 * is killed (SIGKILL) and started again on the same data, as a crashed node would be.
 * Needs Debian's rabbitmq-server (scripts/ensure-rabbitmq.sh installs it), which runs the node as the
 * `rabbitmq` user, so its folders belong to that user.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
	chownSync,
	existsSync,
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort, waitFor } from './ports';

export interface RabbitNode {
	port: number;
	url: string;
	/**
	 * Stops the node: SIGTERM (a restart, as an operator or an orchestrator does it), or SIGKILL (a crash).
	 */
	kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
	/** Starts it again on its data; resolves once it takes connections. */
	start(): Promise<void>;
	/**
	 * A queue's messages as the node counts them (rabbitmqctl): those ready, and those delivered but not
	 * acknowledged yet, i.e. held by a consumer. An AMQP queue.declare (checkQueue) counts only the ready
	 * ones, so a queue whose last messages sit in a consumer's prefetch window looks empty there. The
	 * node refreshes these counts every few seconds (its statistics interval, 5 s by default): a count
	 * stands only once it held that long.
	 */
	queueDepth(queue: string): Promise<{ ready: number; unacked: number }>;
	destroy(): Promise<void>;
}

/** The `rabbitmq` user the Debian wrapper runs the node as, when there is one. */
function rabbitmqUser(): { uid: number; gid: number } | undefined {
	const uid = spawnSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' });
	const gid = spawnSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' });
	if (uid.status !== 0 || gid.status !== 0) return undefined;
	return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const alive = (pid: number): boolean => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

const answers = (port: number) =>
	new Promise<boolean>((resolve) => {
		const socket = connect(port, '127.0.0.1');
		socket.once('connect', () => (socket.destroy(), resolve(true)));
		socket.once('error', () => resolve(false));
	});

export async function startRabbitNode(label = 'bench'): Promise<RabbitNode> {
	if (spawnSync('sh', ['-c', 'command -v rabbitmq-server'], { encoding: 'utf8' }).status !== 0) {
		throw new Error(
			"rabbitmq-server is not installed (scripts/ensure-rabbitmq.sh installs it from Debian's packages)",
		);
	}
	const port = await freePort();
	const distPort = await freePort();
	const home = mkdtempSync(join(tmpdir(), `cr-rabbit-${label}-`));
	for (const sub of ['mnesia', 'log']) mkdirSync(join(home, sub), { recursive: true });
	writeFileSync(
		join(home, 'rabbitmq.conf'),
		`listeners.tcp.default = 127.0.0.1:${port}\nloopback_users.guest = true\n`,
	);
	writeFileSync(join(home, 'enabled_plugins'), '[].\n');
	const owner = rabbitmqUser();
	// The wrapper runs the node as `rabbitmq` when started as root; otherwise it runs as this user.
	if (owner && process.getuid?.() === 0)
		for (const path of [
			home,
			join(home, 'mnesia'),
			join(home, 'log'),
			join(home, 'rabbitmq.conf'),
			join(home, 'enabled_plugins'),
		])
			chownSync(path, owner.uid, owner.gid);
	const node = `cr-${label}-${port}@localhost`;
	const env = {
		...process.env,
		RABBITMQ_NODENAME: node,
		RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
		RABBITMQ_NODE_PORT: String(port),
		RABBITMQ_DIST_PORT: String(distPort),
		RABBITMQ_MNESIA_BASE: join(home, 'mnesia'),
		RABBITMQ_LOG_BASE: join(home, 'log'),
		RABBITMQ_CONFIG_FILE: join(home, 'rabbitmq'),
		RABBITMQ_ENABLED_PLUGINS_FILE: join(home, 'enabled_plugins'),
		RABBITMQ_PID_FILE: join(home, 'pid'),
	};
	let child: ChildProcess | undefined;

	const beamPid = (): number | undefined => {
		const file = join(home, 'pid');
		if (!existsSync(file)) return undefined;
		const pid = Number(readFileSync(file, 'utf8').trim());
		return Number.isInteger(pid) && pid > 0 ? pid : undefined;
	};

	async function start(): Promise<void> {
		child = spawn('rabbitmq-server', [], { env, stdio: 'ignore', detached: true });
		child.unref();
		await waitFor(
			`the bench's RabbitMQ node on port ${port}`,
			async () => ((await answers(port)) ? true : undefined),
			{ timeoutMs: 120_000, intervalMs: 250 },
		);
	}

	async function kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
		const pid = beamPid();
		if (!pid && child?.pid) {
			// No pid file (the node never got that far): stop what was started.
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				/* already gone */
			}
		}
		if (pid) {
			try {
				process.kill(pid, signal);
			} catch {
				/* already gone */
			}
		}
		await waitFor(
			"the bench's RabbitMQ node to stop",
			async () => ((await answers(port)) ? undefined : true),
			{ timeoutMs: 60_000, intervalMs: 100 },
		);
		// The node's beam is gone; wait for it to have exited (its files closed) before a start.
		await waitFor('the node process to exit', async () => (pid && alive(pid) ? undefined : true), {
			timeoutMs: 60_000,
			intervalMs: 100,
		});
		if (child?.pid && alive(child.pid)) {
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				/* already gone */
			}
		}
		rmSync(join(home, 'pid'), { force: true });
	}

	async function queueDepth(queue: string): Promise<{ ready: number; unacked: number }> {
		// Asynchronous: the bench's stand-ins answer from this process meanwhile.
		const out = await new Promise<string>((resolve, reject) =>
			execFile(
				'rabbitmqctl',
				['-n', node, '-q', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged'],
				{ env, encoding: 'utf8', timeout: 30_000 },
				(error, stdout, stderr) =>
					error
						? reject(new Error(`rabbitmqctl list_queues: ${stderr || error.message}`))
						: resolve(stdout),
			),
		);
		for (const line of out.split('\n')) {
			const [name, ready, unacked] = line.trim().split(/\s+/);
			if (name === queue && /^\d+$/.test(ready) && /^\d+$/.test(unacked))
				return { ready: Number(ready), unacked: Number(unacked) };
		}
		throw new Error(
			`rabbitmqctl does not list the queue "${queue}" on ${node}: ${out.slice(0, 300)}`,
		);
	}

	await start();
	return {
		port,
		url: `amqp://guest:guest@127.0.0.1:${port}`,
		kill,
		start,
		queueDepth,
		async destroy() {
			await kill().catch(() => undefined);
			rmSync(home, { recursive: true, force: true });
		},
	};
}
