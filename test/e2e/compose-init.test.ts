/**
 * The compose stack's init service (deploy/n8n-init.js), run here as the image runs it: the same script
 * with the pinned n8n's CLI on the PATH, against a fresh n8n database, without Docker (the stack itself
 * runs in compose-stack.test.ts): credentials from the environment (an empty variable as unset), the
 * shop's address in the workflows, every exported workflow imported and published, no workflow changed on
 * a later start, a changed setting in .env applied to a credential nobody edited and not to one edited in
 * n8n, a missing setting refused; then n8n started on that database answers on the workflows' webhooks.
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

jest.setTimeout(900_000);

const SECRETS = {
	MINIO_ROOT_USER: 'checkout',
	MINIO_ROOT_PASSWORD: 'minio-secret-from-env',
	RABBITMQ_PASSWORD: 'rabbit-secret-from-env',
	CHECKOUT_LINKS_SECRET: 'links-secret-from-env-0123456789',
	STRIPE_SECRET_KEY: 'sk_test_from_env',
	STRIPE_WEBHOOK_SECRET: 'whsec_from_env',
	PIPEDRIVE_API_TOKEN: 'pipedrive-token-from-env',
	CHECKOUT_SHOP_URL: 'https://minha-loja.example',
	// As compose passes an optional variable left out of .env: an empty string, which means "the default".
	CHECKOUT_PAY_URL: '',
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

const credentialsIn = (env: Record<string, string>) => {
	const out = run('n8n', ['export:credentials', '--all', '--decrypted'], env).out;
	return JSON.parse(out.slice(out.indexOf('['))) as Array<{
		id: string;
		name: string;
		type: string;
		data: Record<string, unknown>;
	}>;
};

it('imports the credentials from the environment and publishes every workflow once; later starts change no workflow and apply .env to credentials nobody edited', async () => {
	const { userFolder, env } = n8nHome();
	Object.assign(env, SECRETS);
	const first = init(env);
	expect({ status: first.status, err: first.status ? first.err.slice(-2000) : '' }).toEqual({
		status: 0,
		err: '',
	});
	expect(first.out).toContain(
		`wrote 7 credentials, imported ${shippedIds.length} workflows, published ${shippedIds.length} workflows`,
	);
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);

	// The secrets are the environment's, in n8n's encrypted store.
	const credentials = credentialsIn(env);
	const dataOf = (type: string, list = credentials) => list.find((c) => c.type === type)?.data;
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
	// CHECKOUT_PAY_URL="" (compose's `${CHECKOUT_PAY_URL:-}`) is the default, not an empty pay URL.
	expect(dataOf('checkoutLinksApi')).toMatchObject({
		secret: SECRETS.CHECKOUT_LINKS_SECRET,
		payUrl: 'http://localhost:5678/webhook/checkout/pay',
	});
	expect(dataOf('checkoutPipedriveApi')).toMatchObject({ apiToken: SECRETS.PIPEDRIVE_API_TOKEN });
	// The shop's own return pages, not the shipped placeholder.
	const leadCapture = run('n8n', ['export:workflow', '--id=crLeadCapture001'], env).out;
	expect(leadCapture).toContain('https://minha-loja.example/obrigado');
	expect(leadCapture).not.toContain('https://loja.example');
	// Nothing secret is printed.
	for (const secret of Object.values(SECRETS).filter((s) => s.length > 12))
		expect(first.out + first.err).not.toContain(secret);

	// A shop owner's change in the editor survives a restart of the stack: no workflow is imported again.
	run('n8n', ['unpublish:workflow', `--id=${shippedIds[0]}`], env);
	const second = init(env);
	expect(second.status).toBe(0);
	expect(second.out).toContain('nothing to do');
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds.slice(1),
	);

	// A setting changed in .env reaches the credential that nobody edited...
	const changed = init({ ...env, STRIPE_SECRET_KEY: 'sk_test_changed' });
	expect(changed.out).toContain('wrote 1 credentials, imported 0 workflows, published 0 workflows');
	expect(dataOf('checkoutStripeApi', credentialsIn(env))).toMatchObject({
		secretKey: 'sk_test_changed',
	});
	// ...and not the one a shop owner edited in n8n since: that one stays as edited, with a warning.
	const pipedrive = credentialsIn(env).find((c) => c.type === 'checkoutPipedriveApi')!;
	const edited = join(userFolder, 'edited-credential.json');
	writeFileSync(
		edited,
		JSON.stringify([
			{ ...pipedrive, data: { ...pipedrive.data, apiToken: 'token-set-in-editor' } },
		]),
	);
	expect(run('n8n', ['import:credentials', `--input=${edited}`], env).status).toBe(0);
	const kept = init({
		...env,
		STRIPE_SECRET_KEY: 'sk_test_changed',
		PIPEDRIVE_API_TOKEN: 'token-changed-in-env',
	});
	expect(kept.status).toBe(0);
	expect(kept.err).toContain('"Checkout Pipedrive" was edited in n8n');
	expect(dataOf('checkoutPipedriveApi', credentialsIn(env))).toMatchObject({
		apiToken: 'token-set-in-editor',
	});
	// Once told, the same .env does not warn again.
	expect(
		init({
			...env,
			STRIPE_SECRET_KEY: 'sk_test_changed',
			PIPEDRIVE_API_TOKEN: 'token-changed-in-env',
		}).out,
	).toContain('nothing to do');
	env.STRIPE_SECRET_KEY = 'sk_test_changed';
	env.PIPEDRIVE_API_TOKEN = 'token-changed-in-env';

	// A first start that stopped before its note (a workflow left unpublished) is finished on the next:
	// the workflow is published, and nothing that was there is imported again.
	rmSync(join(env.CHECKOUT_INIT_STATE_DIR, 'checkout-recovery-initialised'));
	const third = init(env);
	expect({ status: third.status, out: third.out }).toEqual({
		status: 0,
		out: expect.stringContaining(
			'wrote 0 credentials, imported 0 workflows, published 1 workflows',
		),
	});
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);

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
			`wrote 0 credentials, imported ${files.length - 3} workflows, published ${files.length - 3} workflows`,
		),
	});
	expect(idsOf(run('n8n', ['list:workflow', '--active=true', '--onlyId'], env).out)).toEqual(
		shippedIds,
	);
});

it.each([
	['CHECKOUT_LINKS_SECRET', ''],
	['CHECKOUT_LINKS_SECRET', 'shorter-than-32-characters'],
	['CHECKOUT_SHOP_URL', ''],
	['CHECKOUT_SHOP_URL', 'https://minha-loja.example/checkout'],
	['CHECKOUT_PAY_URL', 'ftp://n8n.example/pay'],
])('refuses a first start with %s=%j, naming it, and imports nothing', (name, value) => {
	const { env } = n8nHome();
	Object.assign(env, { ...SECRETS, [name]: value });
	const result = init(env);
	expect(result.status).not.toBe(0);
	expect(result.err).toContain(name);
	expect(idsOf(run('n8n', ['list:workflow', '--onlyId'], env).out)).toEqual([]);
});
