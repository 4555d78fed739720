/**
 * The compose stack's init service (deploy/n8n-init.js), run here as the image runs it: the same script
 * with the pinned n8n's CLI on the PATH, against a fresh n8n database. There is no Docker engine on this
 * machine, so this is how the first start of `docker compose up` is tried: credentials from the
 * environment, every exported workflow imported and published, nothing changed on a second start, a
 * missing secret refused; then n8n started on that database answers on the workflows' webhooks.
 */
import { spawnSync } from 'node:child_process';
import {
	chmodSync,
	copyFileSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	n8nBinary,
	nodeBinary,
	PACKAGE_NAME,
	packInstall,
	REPO_ROOT,
	startN8n,
} from '../../testbench/n8n';

jest.setTimeout(300_000);

const SECRETS = {
	MINIO_ROOT_USER: 'checkout',
	MINIO_ROOT_PASSWORD: 'minio-secret-from-env',
	RABBITMQ_PASSWORD: 'rabbit-secret-from-env',
	CHECKOUT_LINKS_SECRET: 'links-secret-from-env-0123456789',
	CHECKOUT_REPORT_KEY: 'report-key-from-env-0123456789',
	STRIPE_SECRET_KEY: 'sk_test_from_env',
	STRIPE_WEBHOOK_SECRET: 'whsec_from_env',
	PIPEDRIVE_API_TOKEN: 'pipedrive-token-from-env',
};
const shippedIds = readdirSync(join(REPO_ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'))
	.map(
		(f) => (JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', f), 'utf8')) as { id: string }).id,
	)
	.sort();

const folders: string[] = [];
afterAll(() => {
	for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** A user folder with the pack installed and an `n8n` command on the PATH, as in the image. */
function n8nHome(): { userFolder: string; env: Record<string, string> } {
	const userFolder = mkdtempSync(join(tmpdir(), 'cr-init-'));
	folders.push(userFolder);
	const nodes = join(userFolder, '.n8n/nodes/node_modules');
	mkdirSync(nodes, { recursive: true });
	symlinkSync(join(packInstall(), 'node_modules', PACKAGE_NAME), join(nodes, PACKAGE_NAME));
	const bin = join(userFolder, 'bin');
	mkdirSync(bin);
	const wrapper = join(bin, 'n8n');
	writeFileSync(wrapper, `#!/bin/sh\nexec "${nodeBinary()}" "${n8nBinary()}" "$@"\n`);
	chmodSync(wrapper, 0o755);
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(process.env))
		if (v !== undefined && k !== 'NODE_ENV' && k !== 'NODE_OPTIONS' && !k.startsWith('JEST_'))
			env[k] = v;
	Object.assign(env, {
		PATH: `${bin}:${process.env.PATH ?? ''}`,
		N8N_USER_FOLDER: userFolder,
		DB_TYPE: 'sqlite',
		N8N_ENCRYPTION_KEY: 'compose-init-test-key',
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
		CHECKOUT_WORKFLOWS_DIR: join(REPO_ROOT, 'workflows'),
		CHECKOUT_INIT_STATE_DIR: join(userFolder, 'init-state'),
	});
	return { userFolder, env };
}

function run(command: string, args: string[], env: Record<string, string>) {
	const r = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
	return { status: r.status, out: r.stdout, err: r.stderr };
}
const init = (env: Record<string, string>) =>
	run(process.execPath, [join(REPO_ROOT, 'deploy/n8n-init.js')], env);
const idsOf = (out: string) =>
	out
		.split('\n')
		.map((l) => l.trim())
		.filter((l) => /^[A-Za-z0-9]{16}$/.test(l))
		.sort();

it('imports the credentials from the environment and publishes every workflow once; a second start changes nothing', async () => {
	const { userFolder, env } = n8nHome();
	Object.assign(env, SECRETS);
	const first = init(env);
	expect({ status: first.status, err: first.status ? first.err.slice(-2000) : '' }).toEqual({
		status: 0,
		err: '',
	});
	expect(first.out).toContain(
		`${shippedIds.length} workflows, published ${shippedIds.length} workflows`,
	);
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);

	// The secrets are the environment's, in n8n's encrypted store.
	const exported = run('n8n', ['export:credentials', '--all', '--decrypted'], env).out;
	const credentials = JSON.parse(exported.slice(exported.indexOf('['))) as Array<{
		type: string;
		data: Record<string, unknown>;
	}>;
	const dataOf = (type: string) => credentials.find((c) => c.type === type)?.data;
	expect(dataOf('checkoutS3Api')).toMatchObject({
		endpoint: 'http://minio:9000',
		secretAccessKey: SECRETS.MINIO_ROOT_PASSWORD,
		bucket: 'checkout-archive',
	});
	expect(dataOf('checkoutRabbitMqApi')).toMatchObject({
		host: 'rabbitmq',
		password: SECRETS.RABBITMQ_PASSWORD,
	});
	expect(dataOf('checkoutStripeApi')).toMatchObject({
		secretKey: SECRETS.STRIPE_SECRET_KEY,
		webhookSecret: SECRETS.STRIPE_WEBHOOK_SECRET,
	});
	expect(dataOf('checkoutLinksApi')).toMatchObject({ secret: SECRETS.CHECKOUT_LINKS_SECRET });
	expect(dataOf('httpHeaderAuth')).toEqual({
		name: 'X-Report-Key',
		value: SECRETS.CHECKOUT_REPORT_KEY,
	});
	expect(dataOf('checkoutPipedriveApi')).toMatchObject({ apiToken: SECRETS.PIPEDRIVE_API_TOKEN });
	// Nothing secret is printed.
	for (const secret of Object.values(SECRETS).filter((s) => s.length > 12))
		expect(first.out + first.err).not.toContain(secret);

	// A shop owner's change in the editor survives a restart of the stack: the second start imports nothing.
	run('n8n', ['unpublish:workflow', `--id=${shippedIds[0]}`], env);
	const second = init({ ...env, STRIPE_SECRET_KEY: 'sk_test_changed' });
	expect(second.status).toBe(0);
	expect(second.out).toContain('nothing to do');
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds.slice(1),
	);
	// A first start that stopped before its note (a workflow left unpublished) is finished on the next:
	// the workflow is published, and nothing that was there is imported again (the credential keeps its
	// secret, though the environment now says another).
	rmSync(join(env.CHECKOUT_INIT_STATE_DIR, 'checkout-recovery-initialised'));
	const stripeBefore = dataOf('checkoutStripeApi');
	const third = init({ ...env, STRIPE_SECRET_KEY: 'sk_test_changed' });
	expect({ status: third.status, out: third.out }).toEqual({
		status: 0,
		out: expect.stringContaining('imported 0 credentials and 0 workflows, published 1 workflows'),
	});
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);
	const after = run('n8n', ['export:credentials', '--all', '--decrypted'], env).out;
	const stripeAfter = (
		JSON.parse(after.slice(after.indexOf('['))) as Array<{
			type: string;
			data: Record<string, unknown>;
		}>
	).find((c) => c.type === 'checkoutStripeApi')?.data;
	expect(stripeAfter).toEqual(stripeBefore);

	// n8n on that database comes up with the workflows active: their webhooks answer.
	const n8n = await startN8n({
		workflows: [],
		userFolder,
		skipImport: true,
		env: { N8N_ENCRYPTION_KEY: env.N8N_ENCRYPTION_KEY },
		// Activation follows the health check: ready once the lead capture's webhook is registered.
		ready: async (instance) =>
			(
				await fetch(instance.webhookUrl('checkout/lead'), {
					method: 'POST',
					headers: { accept: 'application/json' },
				})
			).status !== 404,
	});
	try {
		const lead = await fetch(n8n.webhookUrl('checkout/lead'), {
			method: 'POST',
			headers: { accept: 'application/json' },
		});
		expect(lead.status).toBe(422);
		const webhook = await fetch(n8n.webhookUrl('checkout/fast/stripe'), {
			method: 'POST',
			body: '{}',
		});
		expect(webhook.status).toBe(401);
	} finally {
		await n8n.stop();
	}
});

it('finishes a first start that imported only some workflows, importing only the missing ones', () => {
	const { env } = n8nHome();
	Object.assign(env, SECRETS);
	// The first start saw half the workflows (it stopped half way), and left no note that it finished.
	const half = mkdtempSync(join(tmpdir(), 'cr-init-wf-'));
	folders.push(half);
	const files = readdirSync(join(REPO_ROOT, 'workflows'))
		.filter((f) => f.endsWith('.json'))
		.sort();
	for (const f of files.slice(0, 3)) copyFileSync(join(REPO_ROOT, 'workflows', f), join(half, f));
	expect(init({ ...env, CHECKOUT_WORKFLOWS_DIR: half }).status).toBe(0);
	rmSync(join(env.CHECKOUT_INIT_STATE_DIR, 'checkout-recovery-initialised'));
	const rest = init(env);
	expect({ status: rest.status, out: rest.out }).toEqual({
		status: 0,
		out: expect.stringContaining(
			`imported 0 credentials and ${files.length - 3} workflows, published ${files.length - 3} workflows`,
		),
	});
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);
});

it.each(['CHECKOUT_LINKS_SECRET', 'CHECKOUT_REPORT_KEY'])(
	'refuses a first start without %s, and imports nothing',
	(name) => {
		const { env } = n8nHome();
		Object.assign(env, { ...SECRETS, [name]: '' });
		const result = init(env);
		expect(result.status).not.toBe(0);
		expect(result.err).toContain(`Set ${name}`);
		expect(idsOf(run('n8n', ['list:workflow', '--onlyId'], env).out)).toEqual([]);
	},
);
