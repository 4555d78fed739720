/**
 * The project's docker-compose.yml run as an operator runs it, with Debian's docker-compose 1.29 on a
 * Docker engine of this machine (testbench/docker): its own compose project name and .env per run, the
 * file and the Dockerfile unchanged. Only what the run made is removed (`down -v`, its image).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { REPO_ROOT } from './n8n';
import { waitFor } from './ports';

/** Debian's client: it speaks the engine's API version (a newer client may be first on the PATH). */
export const DOCKER = '/usr/bin/docker';

export interface Run {
	status: number;
	out: string;
	err: string;
}

function run(
	command: string,
	args: string[],
	options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<Run> {
	return new Promise((resolve, reject) => {
		const child = spawn(command, args, { env: options.env ?? process.env, stdio: 'pipe' });
		let out = '';
		let err = '';
		child.stdout.on('data', (d: Buffer) => (out += d.toString()));
		child.stderr.on('data', (d: Buffer) => (err += d.toString()));
		child.on('error', reject);
		child.on('close', (code) => resolve({ status: code ?? 1, out, err }));
		child.stdin.end(options.input ?? '');
	});
}

export function docker(...args: string[]): Run {
	const r = spawnSync(DOCKER, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
	return { status: r.status ?? 1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Engine, stand-in images and the project's image (testbench/docker/prepare.sh); throws with its log. */
export async function prepareDocker(): Promise<void> {
	const r = await run('bash', [join(REPO_ROOT, 'testbench/docker/prepare.sh')]);
	if (r.status !== 0)
		throw new Error(`testbench/docker/prepare.sh failed:\n${(r.out + r.err).slice(-4000)}`);
}

/** The address of the Docker bridge's gateway on this machine: what the containers reach the host by. */
export function bridgeGateway(): string {
	const r = docker(
		'network',
		'inspect',
		'bridge',
		'--format',
		'{{(index .IPAM.Config 0).Gateway}}',
	);
	const ip = r.out.trim();
	if (r.status !== 0 || !/^\d+\.\d+\.\d+\.\d+$/.test(ip))
		throw new Error(`no Docker bridge gateway: ${r.err || r.out}`);
	return ip;
}

export interface ComposeProject {
	name: string;
	/** Replaces the project's .env (the whole file: an operator's edit of .env). */
	setEnv(values: Record<string, string>): void;
	compose(...args: string[]): Promise<Run>;
	/** compose, throwing with its output when it fails. */
	must(...args: string[]): Promise<Run>;
	/** The ids of the project's containers of `service` (running or not). */
	containers(service: string): string[];
	/** A container's health ('healthy', 'starting', 'unhealthy') or state when it has no health check. */
	health(container: string): string;
	/** Waits until every running container of the services is healthy; the time it took, in ms. */
	waitHealthy(services: string[], timeoutMs?: number): Promise<number>;
	/** `docker exec` in the first container of `service`. */
	exec(service: string, args: string[], options?: { user?: string }): Run;
	logs(service: string): string;
	down(): Promise<void>;
}

export function composeProject(name: string): ComposeProject {
	const dir = mkdtempSync(join(tmpdir(), `cr-compose-${name}-`));
	const envFile = join(dir, '.env');
	writeFileSync(envFile, '');
	const env: NodeJS.ProcessEnv = {
		...process.env,
		DOCKER_BUILDKIT: '0',
		COMPOSE_DOCKER_CLI_BUILD: '0',
	};
	// COMPOSE_PROFILES and the project name come from the .env file of the run, not from this process.
	delete env.COMPOSE_PROFILES;
	delete env.COMPOSE_PROJECT_NAME;
	const base = [
		'--env-file',
		envFile,
		'-p',
		name,
		'-f',
		join(REPO_ROOT, 'docker-compose.yml'),
		'--project-directory',
		REPO_ROOT,
	];
	const project: ComposeProject = {
		name,
		setEnv(values) {
			writeFileSync(
				envFile,
				Object.entries(values)
					.map(([k, v]) => `${k}=${v}`)
					.join('\n') + '\n',
				{ mode: 0o600 },
			);
		},
		compose: (...args) => run('docker-compose', [...base, ...args], { env }),
		async must(...args) {
			const r = await project.compose(...args);
			if (r.status !== 0)
				throw new Error(
					`docker-compose ${args.join(' ')} failed (${r.status}):\n${(r.out + r.err).slice(-4000)}`,
				);
			return r;
		},
		containers(service) {
			const r = docker(
				'ps',
				'-a',
				'-q',
				'--filter',
				`label=com.docker.compose.project=${name}`,
				'--filter',
				`label=com.docker.compose.service=${service}`,
			);
			return r.out
				.split('\n')
				.map((l) => l.trim())
				.filter(Boolean);
		},
		health(container) {
			const r = docker(
				'inspect',
				'--format',
				'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}',
				container,
			);
			return r.out.trim();
		},
		async waitHealthy(services, timeoutMs = 300_000) {
			const t0 = Date.now();
			await waitFor(
				`${services.join(', ')} healthy`,
				async () => {
					const ids = services.flatMap((s) => project.containers(s));
					if (ids.length < services.length) return undefined;
					const states = ids.map((id) => project.health(id));
					if (states.some((s) => s === 'exited' || s === 'dead'))
						throw new Error(`a container stopped: ${states.join(', ')}`);
					return states.every((s) => s === 'healthy') ? true : undefined;
				},
				{ timeoutMs, intervalMs: 1000 },
			);
			return Date.now() - t0;
		},
		exec(service, args, options = {}) {
			const [id] = project.containers(service);
			if (!id) throw new Error(`no container of ${service}`);
			return docker('exec', ...(options.user ? ['-u', options.user] : []), id, ...args);
		},
		logs(service) {
			return project
				.containers(service)
				.map((id) => {
					const r = docker('logs', id);
					return r.out + r.err;
				})
				.join('\n');
		},
		async down() {
			await project.compose('--profile', 'queue', 'down', '-v', '--remove-orphans', '-t', '5');
			rmSync(dir, { recursive: true, force: true });
		},
	};
	return project;
}
