/**
 * The compose stack as an operator runs it: the project's unchanged docker-compose.yml and Dockerfile on a
 * Docker engine of this machine, with Debian-built stand-ins of the upstream images tagged with their
 * official names (testbench/docker; docs/docker.md says how faithful each is). The Pipedrive and Mercado
 * Pago stand-ins run on this machine behind https fronts that the containers reach, and the instance has a
 * public address (https://n8n.shop.test/) that only the stand-in gateway's "DNS" leads back here.
 *
 * One stack, in the order an operator lives it: a first start with only the required settings; Pipedrive
 * and the gateway set in .env afterwards; a lead and a signed payment to a won deal; `down` and `up` with
 * queued and dead-lettered messages; the queue profile with a worker killed mid-execution; leaving queue
 * mode; and the ports the stack publishes. Timings are printed (first start, restarts, the kill).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import { reportLinkFor } from '../../lib/links/checkoutLinks';

import {
	bridgeGateway,
	composeProject,
	docker,
	prepareDocker,
	type ComposeProject,
} from '../../testbench/compose';
import { REPO_ROOT } from '../../testbench/n8n';
import { waitFor } from '../../testbench/ports';
import { startGatewayStandIn, type GatewayStandIn } from '../../testbench/standins/gateways';
import { startPipedriveStandIn, type PipedriveStandIn } from '../../testbench/standins/pipedrive';
import { startTlsFront, type TlsFront } from '../../testbench/tlsFront';

jest.setTimeout(15 * 60_000);

const PUBLIC = 'https://n8n.shop.test/';
const SHOP = 'https://shop.test';
const MAIN = 'http://127.0.0.1:5678';
const WEBHOOK_PROCESSOR = 'http://127.0.0.1:5679';
const REQUIRED = {
	POSTGRES_PASSWORD: 'compose-suite-postgres',
	N8N_ENCRYPTION_KEY: 'compose-suite-encryption-key-0123456789',
	RABBITMQ_PASSWORD: 'compose-suite-rabbit',
	MINIO_ROOT_PASSWORD: 'compose-suite-minio',
	CHECKOUT_LINKS_SECRET: 'compose-suite-links-secret-0123456789abcdef',
	CHECKOUT_SHOP_URL: SHOP,
};
const MP = {
	accessToken: 'APP_USR-compose-suite',
	webhookSecret: 'compose-suite-mp-webhook-secret',
};
/** The ports docker-compose.yml documents, each on loopback (docs/docker.md). */
const DOCUMENTED_PORTS = ['127.0.0.1:15672', '127.0.0.1:5678', '127.0.0.1:5679', '127.0.0.1:9001'];

const shippedIds = readdirSync(join(REPO_ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'))
	.map(
		(f) => (JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', f), 'utf8')) as { id: string }).id,
	)
	.sort();

let project: ComposeProject;
let pipedrive: PipedriveStandIn;
let gateways: GatewayStandIn;
const fronts: TlsFront[] = [];
let env: Record<string, string> = { ...REQUIRED };
const timings: Record<string, string> = {};
/** Which container each request to the Pipedrive front came from (its address on the stack's network). */
const pipedriveClients: Array<{ at: number; address: string }> = [];

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function portFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection({ host: '127.0.0.1', port });
		socket.once('connect', () => {
			socket.destroy();
			resolve(false);
		});
		socket.once('error', () => resolve(true));
	});
}

/**
 * One HTTP request on a connection of its own: the stack's n8n closes idle connections after 5 s, and a
 * pooled connection closed at the moment a request goes out fails with "other side closed".
 */
function request(
	url: string,
	options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; location: string | null; text: string }> {
	return new Promise((resolve, reject) => {
		const req = httpRequest(
			url,
			{ method: options.method ?? 'GET', headers: options.headers, agent: false },
			(res) => {
				let text = '';
				res.setEncoding('utf8');
				res.on('data', (chunk: string) => (text += chunk));
				res.on('end', () =>
					resolve({ status: res.statusCode ?? 0, location: res.headers.location ?? null, text }),
				);
				res.on('error', reject);
			},
		);
		req.on('error', reject);
		req.end(options.body);
	});
}

function postForm(base: string, fields: Record<string, string>) {
	return request(`${base}/webhook/checkout/lead`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
		body: new URLSearchParams(fields).toString(),
	});
}

const buyer = (email: string) => ({
	nome: 'Maria das Dores',
	email,
	telefone: '(11) 98765-4321',
	cpf: '529.982.247-25',
	produto: 'Curso de fotografia',
	lgpd: 'on',
	utm_source: 'newsletter',
});

/** The buyer's deals in the Pipedrive stand-in (through the person with that e-mail). */
function dealsOf(email: string): Array<Record<string, unknown>> {
	const persons = pipedrive.state.persons.filter((p) =>
		((p.emails as Array<{ value: string }> | undefined) ?? []).some((e) => e.value === email),
	);
	return pipedrive.state.deals.filter((d) => persons.some((p) => p.id === d.person_id));
}

/** Messages in each queue of the stack's broker (ready and unacknowledged). */
function queueDepths(): Record<string, number> {
	const r = project.exec('rabbitmq', [
		'rabbitmqctl',
		'list_queues',
		'-q',
		'--no-table-headers',
		'name',
		'messages',
	]);
	if (r.status !== 0) throw new Error(`rabbitmqctl list_queues: ${r.err}`);
	return Object.fromEntries(
		r.out
			.split('\n')
			.map((line) => line.trim().split(/\s+/))
			.filter((cols) => cols.length === 2 && /^\d+$/.test(cols[1]))
			.map(([name, n]) => [name, Number(n)]),
	);
}

async function publish(routingKey: string, payload: string, messageId: string): Promise<void> {
	const auth = Buffer.from(`checkout:${REQUIRED.RABBITMQ_PASSWORD}`).toString('base64');
	const res = await request('http://127.0.0.1:15672/api/exchanges/%2F/checkout.events/publish', {
		method: 'POST',
		headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
		body: JSON.stringify({
			properties: { delivery_mode: 2, message_id: messageId, content_type: 'application/json' },
			routing_key: routingKey,
			payload,
			payload_encoding: 'string',
		}),
	});
	const body = JSON.parse(res.text) as { routed?: boolean };
	if (res.status !== 200 || !body.routed) throw new Error(`publish: ${res.status} ${res.text}`);
}

function n8nCli(service: string, args: string[]): string {
	const r = project.exec(service, ['n8n', ...args]);
	if (r.status !== 0) throw new Error(`n8n ${args.join(' ')}: ${r.err.slice(-2000)}`);
	return r.out;
}

async function up(waitFor: string[] = ['n8n']): Promise<number> {
	project.setEnv(env);
	const t0 = Date.now();
	await project.must('up', '-d');
	await project.waitHealthy(waitFor);
	return Date.now() - t0;
}

beforeAll(async () => {
	const t0 = Date.now();
	await prepareDocker();
	timings['engine, stand-in images and the project image (cached after the first run)'] = seconds(
		Date.now() - t0,
	);
	for (const port of [5678, 5679, 15672, 9001])
		if (!(await portFree(port)))
			throw new Error(
				`port 127.0.0.1:${port} is taken: the compose stack publishes it (stop what uses it)`,
			);
	const gateway = bridgeGateway();
	pipedrive = await startPipedriveStandIn({ token: 'compose-suite-pipedrive-token' });
	gateways = await startGatewayStandIn({
		stripe: { secretKey: 'sk_test_compose', webhookSecret: 'whsec_compose' },
		mercadopago: MP,
		asaas: { apiKey: 'asaas-compose', webhookToken: 'asaas-compose-token' },
		// The public address leads to this instance, as DNS and the shop's proxy would.
		route: (url) => (url.startsWith(PUBLIC) ? `${MAIN}/${url.slice(PUBLIC.length)}` : url),
	});
	fronts.push(
		await startTlsFront({
			host: gateway,
			targetPort: Number(new URL(pipedrive.baseUrl).port),
			onConnection: (address) => pipedriveClients.push({ at: Date.now(), address }),
		}),
		await startTlsFront({ host: gateway, targetPort: gateways.port }),
	);
	project = composeProject(`crsuite${process.pid}`);
	// The first prepare of a fresh machine (debootstrap, apt, npm in images) runs while the other suites do.
}, 25 * 60_000);

afterAll(async () => {
	console.log(
		`compose suite timings:\n${Object.entries(timings)
			.map(([k, v]) => `  ${k}: ${v}`)
			.join('\n')}`,
	);
	if (project) {
		if (process.env.CR_KEEP_COMPOSE !== '1') await project.down();
	}
	for (const front of fronts) await front.close();
	await pipedrive?.close();
	await gateways?.close();
});

describe('docker compose up, as an operator runs it', () => {
	let heldEmail = '';

	it('starts with only the required settings: every workflow active, forms answered, Pipedrive waited for', async () => {
		const took = await up();
		timings['first start (up -d to a healthy main, images built)'] = seconds(took);
		// Healthy means registered: the form answers at once, no "webhook is not registered".
		heldEmail = `held-${Date.now()}@example.com`;
		const first = await postForm(MAIN, buyer(heldEmail));
		// No gateway yet: the lead is kept and the buyer sees the page that says so.
		expect(first.status).toBe(200);
		expect(first.text).toContain('Recebemos seus dados');
		const invalid = await postForm(MAIN, { ...buyer('x@example.com'), email: 'not-an-email' });
		expect(invalid.status).toBe(422);
		expect(invalid.text).toMatch(/e-?mail/i);

		const active = n8nCli('n8n', ['list:workflow', '--active=true', '--onlyId'])
			.split('\n')
			.map((l) => l.trim())
			.filter((l) => /^[A-Za-z0-9]{16}$/.test(l))
			.sort();
		expect(active).toEqual(shippedIds);
		const init = project.logs('n8n-init');
		expect(init).toContain(
			`wrote 7 credentials, imported ${shippedIds.length} workflows, published ${shippedIds.length} workflows`,
		);
		// The pay URL came from the public address's default, not an empty string (every form got 500).
		expect(init).not.toMatch(/pay URL "" is not/);

		// Pipedrive left blank: the lead waits in the queue, paused with the reason, nothing dead-lettered.
		await waitFor(
			'the processor pausing on the blank Pipedrive credential',
			async () =>
				/Paused: .*Pipedrive is not set up/.test(project.logs('n8n')) ? true : undefined,
			{ timeoutMs: 180_000, intervalMs: 2000 },
		);
		// Held (unacked) by the paused trigger: read until the broker counts it (one loaded run read 0 once,
		// the moment the trigger's channel was being set up again); the next test sees it reach Pipedrive.
		const depths = await waitFor(
			'the held lead counted in checkout.events',
			async () => {
				const now = queueDepths();
				return (now['checkout.events'] ?? 0) >= 1 ? now : undefined;
			},
			{ timeoutMs: 60_000, intervalMs: 2000 },
		);
		expect(depths['checkout.events.dlq'] ?? 0).toBe(0);

		// The report page says what is missing instead of a bare 500.
		const report = await request(
			reportLinkFor({
				secret: REQUIRED.CHECKOUT_LINKS_SECRET,
				payUrl: `${MAIN}/webhook/checkout/pay`,
			}).url,
		);
		expect(report.status).toBe(503);
		expect(report.text).toContain('Pipedrive is not set up');
		expect(report.text).toContain('PIPEDRIVE_API_TOKEN');
		// Nothing above restarted n8n (a crash would be hidden by the restart policy).
		expect(
			docker('inspect', '--format', '{{.RestartCount}}', project.containers('n8n')[0]).out.trim(),
		).toBe('0');
	});

	it('takes Pipedrive and the gateway from .env on the next up, and a lead and a signed payment end in a won deal', async () => {
		const [pipedriveFront, gatewayFront] = fronts;
		env = {
			...env,
			N8N_WEBHOOK_URL: PUBLIC,
			PIPEDRIVE_API_TOKEN: pipedrive.token,
			PIPEDRIVE_BASE_URL: pipedriveFront.baseUrl,
			MERCADOPAGO_ACCESS_TOKEN: MP.accessToken,
			MERCADOPAGO_WEBHOOK_SECRET: MP.webhookSecret,
			MERCADOPAGO_BASE_URL: gatewayFront.baseUrl,
		};
		timings['up -d after editing .env (Pipedrive, gateway, public address)'] = seconds(await up());
		// Pipedrive, Mercado Pago and the pay links (their address follows N8N_WEBHOOK_URL) were rewritten.
		expect(project.logs('n8n-init')).toMatch(/wrote 3 credentials/);

		// The lead that waited for Pipedrive goes through: nothing was lost while it was not set up.
		await waitFor(
			'the held lead in Pipedrive',
			async () => (dealsOf(heldEmail).length ? true : undefined),
			{
				timeoutMs: 180_000,
				intervalMs: 2000,
			},
		);

		const email = `paid-${Date.now()}@example.com`;
		const form = await postForm(MAIN, buyer(email));
		expect(form.status).toBe(303);
		const checkoutId = decodeURIComponent(form.location!.split('/').pop()!);
		const checkout = gateways.checkouts.get(checkoutId)!;
		expect(checkout).toBeDefined();
		// The deployment's addresses: the instance's public fast intake, the shop's thank-you page, and for a
		// buyer who leaves the payment page the lead's pay link on the public address (n8n's own page).
		const publicPattern = PUBLIC.replace(/\./g, '\\.');
		expect(checkout.notificationUrl).toMatch(
			new RegExp(`^${publicPattern}webhook/checkout/fast/mercadopago\\?`),
		);
		expect(checkout.successUrl).toBe(`${SHOP}/obrigado`);
		expect(checkout.cancelUrl).toMatch(
			new RegExp(`^${publicPattern}webhook/checkout/pay\\?lead=[^&]+&from=gateway$`),
		);

		const sent = await gateways.act('mercadopago', checkoutId, 'pay');
		expect(sent?.status).toBe(200);
		await waitFor(
			'the won deal',
			async () => (dealsOf(email).some((d) => d.status === 'won') ? true : undefined),
			{ timeoutMs: 240_000, intervalMs: 2000 },
		);
		expect(dealsOf(email)).toHaveLength(1);
	});

	it('keeps queued and dead-lettered messages across down and up, and changes no workflow or credential', async () => {
		// A message that is not JSON goes to the dead-letter queue.
		await publish('checkout.event', 'this is not json', `poison-${Date.now()}`);
		await waitFor('the poison message dead-lettered', async () =>
			(queueDepths()['checkout.events.dlq'] ?? 0) >= 1 ? true : undefined,
		);
		// Pipedrive refusing the token: leads wait in checkout.events (one held by the paused consumer).
		pipedrive.faults.unauthorized = true;
		const waiting = [`queued-a-${Date.now()}@example.com`, `queued-b-${Date.now()}@example.com`];
		for (const email of waiting) expect((await postForm(MAIN, buyer(email))).status).toBe(303);
		await waitFor(
			'both leads in checkout.events',
			async () => ((queueDepths()['checkout.events'] ?? 0) >= 2 ? true : undefined),
			{ timeoutMs: 120_000, intervalMs: 2000 },
		);
		const before = queueDepths();
		const workflows = n8nCli('n8n', ['export:workflow', '--all']);
		const credentials = n8nCli('n8n', ['export:credentials', '--all']);

		await project.must('down');
		const took = await up();
		timings['down, then up -d to a healthy main'] = seconds(took);
		const after = queueDepths();
		expect(after['checkout.events.dlq']).toBe(before['checkout.events.dlq']);
		expect(after['checkout.events']).toBe(before['checkout.events']);
		expect(n8nCli('n8n', ['export:workflow', '--all'])).toBe(workflows);
		expect(n8nCli('n8n', ['export:credentials', '--all'])).toBe(credentials);
		expect(project.logs('n8n-init')).toMatch(/nothing to do/);

		pipedrive.faults.unauthorized = false;
		await waitFor(
			'the queued leads in Pipedrive',
			async () => (waiting.every((e) => dealsOf(e).length === 1) ? true : undefined),
			{ timeoutMs: 240_000, intervalMs: 2000 },
		);
	});

	it('runs the queue profile: a lead posted to the webhook processor, a worker killed mid-execution', async () => {
		env = { ...env, COMPOSE_PROFILES: 'queue' };
		timings['queue profile added (up -d to healthy main, workers, webhook processor)'] = seconds(
			await up(['n8n', 'n8n-worker', 'n8n-webhook']),
		);
		expect(project.containers('n8n-worker')).toHaveLength(2);
		const startedBefore = (project.logs('n8n-worker').match(/started execution/gi) ?? []).length;
		const email = `queue-${Date.now()}@example.com`;
		// The webhook processor runs no execution itself: its 303 comes from a worker's Respond node.
		const form = await postForm(WEBHOOK_PROCESSOR, buyer(email));
		expect(form.status).toBe(303);
		expect((project.logs('n8n-worker').match(/started execution/gi) ?? []).length).toBeGreaterThan(
			startedBefore,
		);

		// A worker killed while its execution waits on Pipedrive: n8n gives the job up and another worker
		// takes the message again.
		pipedrive.faults.delayMs = 60_000;
		const slow = `killed-${Date.now()}@example.com`;
		expect((await postForm(WEBHOOK_PROCESSOR, buyer(slow))).status).toBe(303);
		const workerIps = new Map(
			project
				.containers('n8n-worker')
				.map((id) => [
					docker(
						'inspect',
						'--format',
						'{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
						id,
					).out.trim(),
					id,
				]),
		);
		const firstCall = pipedriveClients.length;
		const victim = await waitFor(
			'a worker calling Pipedrive for the lead',
			async () => pipedriveClients.slice(firstCall).find((c) => workerIps.has(c.address)),
			{ timeoutMs: 120_000, intervalMs: 500 },
		);
		// The worker's n8n dies as in a crash (SIGKILL, not `docker kill`, which Docker counts as a stop
		// by hand): its container exits and the restart policy brings it back.
		const victimId = workerIps.get(victim.address)!;
		const killedAt = Date.now();
		// `kill` is the shell's own (the image has no /bin/kill): every process of user node but PID 1 (tini),
		// which then exits with n8n, and the container with it.
		const killed = docker('exec', victimId, 'sh', '-c', 'kill -9 -1');
		expect({ status: killed.status, err: killed.err }).toEqual({ status: 0, err: '' });
		pipedrive.faults.delayMs = 0;
		// Nothing of the killed execution reached Pipedrive (its calls were held 60 s): the lead's deal
		// appears once a live worker (the others, or the victim back) runs the message again.
		expect(dealsOf(slow)).toHaveLength(0);
		await waitFor(
			'the lead of the killed execution in Pipedrive',
			async () => (dealsOf(slow).length > 0 ? true : undefined),
			{ timeoutMs: 180_000, intervalMs: 500 },
		);
		const applied = Date.now() - killedAt;
		timings['worker killed mid-execution: its lead in Pipedrive after'] = seconds(applied);
		// docs/docker.md: n8n gives the job up when its lock runs out and the next stall check runs (20 s +
		// up to 10 s with the compose settings), and the trigger takes the message again after its retry
		// delay (5 s): about 30 s on a quiet machine (the timings above say what this run took). The
		// guarantee is that it comes back, not lost; two minutes leave room for a CI machine running other
		// suites beside this one.
		expect(applied).toBeLessThan(120_000);
		// Restarted by its policy, then healthy again (read together: right after the kill the container may
		// not have exited yet and still says "healthy" from before).
		const restarts = () =>
			Number(docker('inspect', '--format', '{{.RestartCount}}', victimId).out.trim());
		await waitFor(
			'the killed worker restarted by its policy and healthy again',
			async () => (restarts() >= 1 && project.health(victimId) === 'healthy' ? true : undefined),
			{ timeoutMs: 180_000, intervalMs: 1000 },
		);
		expect(restarts()).toBeGreaterThanOrEqual(1);
		// Once, however many workers ran it.
		await new Promise((r) => setTimeout(r, 5000));
		expect(dealsOf(slow)).toHaveLength(1);
	});

	it('publishes only the documented ports, each on loopback', () => {
		const ids = docker('ps', '-q', '--filter', `label=com.docker.compose.project=${project.name}`)
			.out.split('\n')
			.filter(Boolean);
		const published = ids.flatMap((id) => {
			const ports = JSON.parse(
				docker('inspect', '--format', '{{json .NetworkSettings.Ports}}', id).out,
			) as Record<string, Array<{ HostIp: string; HostPort: string }> | null>;
			return Object.values(ports)
				.flatMap((bindings) => bindings ?? [])
				.map((b) => `${b.HostIp}:${b.HostPort}`);
		});
		expect([...new Set(published)].sort()).toEqual(DOCUMENTED_PORTS);
	});

	it('refuses a regular-mode main while queue-mode processes still run, and starts once they are stopped', async () => {
		const { COMPOSE_PROFILES: _queue, ...regular } = env;
		env = regular;
		project.setEnv(env);
		const refused = await project.compose('up', '-d');
		expect(refused.status).not.toBe(0);
		expect(project.logs('n8n-init')).toMatch(
			/n8n-worker and n8n-webhook from a queue-mode start still run/,
		);
		await project.must('--profile', 'queue', 'stop', 'n8n-worker', 'n8n-webhook');
		timings['back to regular mode after stopping the queue services'] = seconds(await up());
		const email = `regular-${Date.now()}@example.com`;
		expect((await postForm(MAIN, buyer(email))).status).toBe(303);
	});
});
