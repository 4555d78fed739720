/**
 * A CPU profile of a running n8n over one stretch of load, and what it says in a few lines: where the
 * process's CPU went, by area (the pack, the AWS SDK, n8n's webhook path, its database, Node's HTTP and
 * crypto, the garbage collector) and by function. The profile is taken over Chrome's DevTools protocol on
 * the process's inspector port (startN8n's `inspectPort`) by a small client run on n8n's own Node 24, whose
 * WebSocket client the load generator's Node 20 lacks; only the stretch between `start` and `stop` counts.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { nodeBinary } from './n8n';

/** The CDP client, run by Node 24: starts the profiler, waits for a line on stdin, writes the profile. */
const CLIENT = `
const [port, out] = process.argv.slice(1);
const list = await (await fetch('http://127.0.0.1:' + port + '/json/list')).json();
const ws = new WebSocket(list[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
let next = 1; const waiting = new Map();
ws.onmessage = (m) => { const msg = JSON.parse(m.data); if (msg.id && waiting.has(msg.id)) { waiting.get(msg.id)(msg); waiting.delete(msg.id); } };
const call = (method, params = {}) => new Promise((resolve) => { const id = next++; waiting.set(id, resolve); ws.send(JSON.stringify({ id, method, params })); });
await call('Profiler.enable');
await call('Profiler.setSamplingInterval', { interval: 200 });
await call('Profiler.start');
console.log('started');
process.stdin.once('data', async () => {
	const answer = await call('Profiler.stop');
	require('node:fs').writeFileSync(out, JSON.stringify(answer.result.profile));
	ws.close();
	process.exit(0);
});
`;

export interface CpuProfile {
	nodes: Array<{
		id: number;
		callFrame: { functionName: string; url: string; lineNumber: number };
		hitCount?: number;
		children?: number[];
	}>;
	startTime: number;
	endTime: number;
	samples?: number[];
	timeDeltas?: number[];
}

/** Profiles the process listening on `inspectPort` while `load` runs; returns the profile and `load`'s result. */
export async function profileWhile<T>(
	inspectPort: number,
	load: () => Promise<T>,
): Promise<{ profile: CpuProfile; result: T }> {
	const out = join(tmpdir(), `cr-profile-${process.pid}-${Date.now()}.cpuprofile`);
	const client = spawn(
		nodeBinary(),
		['--input-type=commonjs', '-e', `(async () => {${CLIENT}})()`, String(inspectPort), out],
		{ stdio: ['pipe', 'pipe', 'inherit'] },
	);
	const exited = new Promise<number | null>((resolve) => client.on('exit', resolve));
	await new Promise<void>((resolve, reject) => {
		client.stdout.once('data', () => resolve());
		client.once('exit', (code) => reject(new Error(`the profiler client ended (${code})`)));
	});
	let result: T;
	try {
		result = await load();
	} finally {
		client.stdin.write('stop\n');
		const code = await exited;
		if (code !== 0) throw new Error(`the profiler client ended with ${code}`);
	}
	const profile = JSON.parse(readFileSync(out, 'utf8')) as CpuProfile;
	// BENCH_PROFILE_DIR keeps the raw profile (it opens in Chrome DevTools' Performance panel).
	if (process.env.BENCH_PROFILE_DIR)
		copyFileSync(out, join(process.env.BENCH_PROFILE_DIR, `n8n-${Date.now()}.cpuprofile`));
	rmSync(out, { force: true });
	return { profile, result };
}

/** The package a script belongs to: the folder after its last `node_modules/` (scoped: two folders). */
export function packageOf(url: string): string | undefined {
	const at = url.lastIndexOf('node_modules/');
	if (at < 0) return undefined;
	const [first, second] = url.slice(at + 'node_modules/'.length).split('/');
	return first.startsWith('@') ? `${first}/${second}` : first;
}

const NODE_AREA = 'Node.js (http, net, crypto, streams, timers)';

/** Where a function lives, as a reader of the bench wants it named. */
export function areaOf(url: string, functionName: string): string {
	if (functionName === '(garbage collector)') return 'garbage collector';
	if (functionName === '(idle)') return 'idle';
	if (functionName === '(program)') return 'V8 and native code (program)';
	if (url.startsWith('node:') || url === '') return NODE_AREA;
	const pkg = packageOf(url) ?? '';
	if (pkg === 'n8n-nodes-checkout-recovery') return 'the pack';
	if (/^@aws-sdk\/|^@smithy\/|^@aws-crypto\//.test(pkg)) return 'AWS SDK (S3 client)';
	if (/typeorm|sqlite3|^pg$/.test(pkg)) return 'n8n database (TypeORM, SQLite)';
	if (pkg === 'n8n-core') return 'n8n-core (webhook and node context)';
	if (pkg === 'n8n-workflow') return 'n8n-workflow (workflow model, expressions)';
	if (pkg === 'n8n' || pkg.startsWith('@n8n/'))
		return 'n8n server (HTTP routing, webhooks, executions)';
	if (
		/^(express|body-parser|raw-body|router|finalhandler|send|cookie-parser|compression)$/.test(pkg)
	)
		return 'Express and HTTP middleware';
	return `other packages (${pkg || 'unknown'})`;
}

export interface ProfileSummary {
	/** Sampled CPU milliseconds, idle left out. */
	busyMs: number;
	areas: Array<{ area: string; ms: number; share: number }>;
	functions: Array<{ name: string; area: string; ms: number; share: number }>;
}

/** Self time by area and by function, idle left out. */
export function summariseProfile(profile: CpuProfile, topFunctions = 12): ProfileSummary {
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const selfUs = new Map<number, number>();
	const samples = profile.samples ?? [];
	const deltas = profile.timeDeltas ?? [];
	// A sample's time is the delta to the next sample (Chrome DevTools' reading).
	for (let i = 0; i < samples.length; i++) {
		const us = deltas[i + 1] ?? 0;
		selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, us));
	}
	const parentOf = new Map<number, number>();
	for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);
	// Node's own work (a socket write, a hash) is charged to the package whose code called it, so that the
	// areas say who asked for the CPU; the function table keeps self time.
	const chargedArea = (id: number): string => {
		const own = byId.get(id)!.callFrame;
		const area = areaOf(own.url, own.functionName);
		if (area !== NODE_AREA) return area;
		for (let up = parentOf.get(id); up !== undefined; up = parentOf.get(up)) {
			const frame = byId.get(up)!.callFrame;
			const caller = areaOf(frame.url, frame.functionName);
			if (caller !== NODE_AREA && frame.functionName !== '(root)') return caller;
		}
		return area;
	};
	const areas = new Map<string, number>();
	const functions = new Map<string, { area: string; us: number }>();
	for (const [id, us] of selfUs) {
		const node = byId.get(id);
		if (!node) continue;
		const { functionName, url, lineNumber } = node.callFrame;
		const area = areaOf(url, functionName);
		if (area === 'idle') continue;
		const charged = chargedArea(id);
		areas.set(charged, (areas.get(charged) ?? 0) + us);
		const file = url.replace(/^.*node_modules\//, '').replace(/^file:\/\//, '');
		const name =
			`${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
		const f = functions.get(name) ?? { area, us: 0 };
		f.us += us;
		functions.set(name, f);
	}
	const busyUs = [...areas.values()].reduce((a, b) => a + b, 0);
	const share = (us: number) => (busyUs ? us / busyUs : 0);
	return {
		busyMs: busyUs / 1000,
		areas: [...areas]
			.sort((a, b) => b[1] - a[1])
			.map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })),
		functions: [...functions]
			.sort((a, b) => b[1].us - a[1].us)
			.slice(0, topFunctions)
			.map(([name, f]) => ({ name, area: f.area, ms: f.us / 1000, share: share(f.us) })),
	};
}

/**
 * The summary as Markdown tables, per request of the load. The sampler counts wall time while the process
 * runs, so its milliseconds overstate CPU on a busy machine; the shares are its, and they are applied to
 * `cpuMs`, the process's CPU time for the same stretch as /proc counts it.
 */
export function profileTables(summary: ProfileSummary, requests: number, cpuMs: number): string {
	const perRequest = (share: number) => (requests ? ((share * cpuMs) / requests).toFixed(2) : '–');
	return [
		`n8n's CPU over the profiled stretch: ${cpuMs.toFixed(0)} ms for ${requests} requests, ${perRequest(1)} ms per request (/proc); the shares come from ${summary.busyMs.toFixed(0)} ms of busy samples.`,
		'',
		"| area (Node's own work charged to the package that called it) | CPU ms per request | share |",
		'|---|---|---|',
		...summary.areas.map(
			(a) => `| ${a.area} | ${perRequest(a.share)} | ${(100 * a.share).toFixed(1)}% |`,
		),
		'',
		'| function (self time) | area | CPU ms per request | share |',
		'|---|---|---|---|',
		...summary.functions.map(
			(f) =>
				`| \`${f.name.replace(/\|/g, '\\|')}\` | ${f.area} | ${perRequest(f.share)} | ${(100 * f.share).toFixed(1)}% |`,
		),
	].join('\n');
}
