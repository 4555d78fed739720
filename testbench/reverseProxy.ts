/**
 * A reverse proxy in front of n8n webhook processors, as a shop puts one there: Debian's nginx (the bench
 * scripts install it where missing), run as a child of the bench with its own prefix folder, config and
 * port on loopback, so it touches no system nginx. Requests go to the least busy processor over kept-alive
 * upstream connections; a POST is never sent twice (nginx does not retry non-idempotent requests).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { processGroupCpuSeconds } from './n8n';
import { freePort, waitFor } from './ports';

export interface ReverseProxy {
	port: number;
	url(path: string): string;
	/** CPU seconds nginx (master and worker) has used so far. */
	cpuSeconds(): number;
	stop(): Promise<void>;
}

export async function startReverseProxy(upstreamPorts: number[]): Promise<ReverseProxy> {
	const port = await freePort();
	const dir = mkdtempSync(join(tmpdir(), 'cr-nginx-'));
	for (const sub of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, sub));
	const config = `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path ${dir}/body;
	proxy_temp_path ${dir}/proxy;
	fastcgi_temp_path ${dir}/fastcgi;
	uwsgi_temp_path ${dir}/uwsgi;
	scgi_temp_path ${dir}/scgi;
	client_max_body_size 16m;
	upstream n8n_webhook_processors {
		least_conn;
${upstreamPorts.map((p) => `		server 127.0.0.1:${p};`).join('\n')}
		keepalive 128;
	}
	server {
		listen 127.0.0.1:${port};
		location / {
			proxy_pass http://n8n_webhook_processors;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
			proxy_read_timeout 120s;
		}
	}
}
`;
	writeFileSync(join(dir, 'nginx.conf'), config);
	const child: ChildProcess = spawn(
		'nginx',
		['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
		{ stdio: 'ignore', detached: true },
	);
	let exited: number | null = null;
	// Detached (its own process group, for its CPU time): stopped with the bench even when the bench ends early.
	const stopOnExit = () => {
		if (exited === null && child.pid) process.kill(-child.pid, 'SIGTERM');
	};
	process.once('exit', stopOnExit);
	child.once('exit', (code) => {
		exited = code ?? -1;
		process.removeListener('exit', stopOnExit);
	});
	const errorLog = () => {
		try {
			return readFileSync(join(dir, 'error.log'), 'utf8');
		} catch {
			return '';
		}
	};
	await waitFor(
		`nginx on port ${port}`,
		async () => {
			if (exited !== null) throw new Error(`nginx exited (${exited}): ${errorLog()}`);
			return (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.ok
				? true
				: undefined;
		},
		{ timeoutMs: 15_000, intervalMs: 100 },
	);
	return {
		port,
		url: (path) => `http://127.0.0.1:${port}/webhook/${path.replace(/^\//, '')}`,
		cpuSeconds: () => (child.pid && exited === null ? processGroupCpuSeconds(child.pid) : 0),
		async stop() {
			if (exited === null && child.pid) {
				const gone = new Promise<void>((r) => child.once('exit', () => r()));
				process.kill(-child.pid, 'SIGTERM');
				await gone;
			}
			rmSync(dir, { recursive: true, force: true });
		},
	};
}
