#!/usr/bin/env node
/**
 * The compose stack's init service. On the first start of a database it imports the pack's credentials
 * (their secrets read from the environment, which compose fills from .env; nothing secret is in any file
 * of the repository) and the exported workflows, with the shop's address in place of the shipped
 * placeholder, and publishes the workflows, so that `docker compose up` ends with every workflow active
 * against MinIO and RabbitMQ.
 *
 * On every later start it changes no workflow (a shop owner's edits in the editor stay) and brings the
 * credentials up to date with the environment: a credential whose settings in .env changed is rewritten
 * when nobody edited it in the editor since the init wrote it, and left alone (with a warning) when
 * somebody did. A first start that stopped half way is finished, never redone.
 *
 * It also refuses two set-ups that would run but fail the shop: queue-mode processes still running while
 * the main is started in regular mode (after COMPOSE_PROFILES=queue was dropped), and addresses that are
 * not http(s). Runs with the n8n image's own node and n8n CLI (each call starts n8n: a few seconds); the
 * workflows are published side by side on PostgreSQL.
 */
'use strict';

const { execFile } = require('node:child_process');
const { createHash } = require('node:crypto');
const dns = require('node:dns').promises;
const {
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	writeFileSync,
} = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const WORKFLOWS = process.env.CHECKOUT_WORKFLOWS_DIR || '/workflows';
/** A volume of the init service's own (docker-compose.yml), where it notes what it did. */
const STATE_DIR = process.env.CHECKOUT_INIT_STATE_DIR || '/init-state';
/** The shop's address in the shipped workflows, replaced by CHECKOUT_SHOP_URL on import. */
const SHIPPED_SHOP_ORIGIN = 'https://loja.example';
/** The compose services of the queue profile, found by name on the stack's network while they run. */
const QUEUE_SERVICES = ['n8n-worker', 'n8n-webhook'];

/** A variable of the environment; unset and empty are the same (compose passes `${X:-}` as ""). */
function env(name, fallback = '') {
	const value = process.env[name];
	return value === undefined || value.trim() === '' ? fallback : value.trim();
}

function fail(message) {
	console.error(`[init] ${message}`);
	process.exit(1);
}

/** An http(s) address, without a trailing "/" when `origin` (scheme, host and port only). */
function httpAddress(name, value, { origin = false } = {}) {
	let url;
	try {
		url = new URL(value);
	} catch {
		fail(`${name} "${value}" is not an address (e.g. https://www.your-shop.example)`);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:')
		fail(`${name} "${value}" must start with https:// (or http://)`);
	if (origin && (url.pathname !== '/' || url.search || url.hash))
		fail(
			`${name} "${value}" must be the site's address only, without a path (e.g. https://www.your-shop.example)`,
		);
	return origin ? url.origin : url.toString();
}

function isLoopback(address) {
	const host = new URL(address).hostname;
	return host === 'localhost' || host === '[::1]' || /^127\./.test(host);
}

/** n8n's public webhook address (N8N_WEBHOOK_URL), the one place the deployment's address is set. */
function webhookBase() {
	return httpAddress('N8N_WEBHOOK_URL', env('N8N_WEBHOOK_URL', 'http://localhost:5678/')).replace(
		/\/+$/,
		'',
	);
}

/** The credentials the exported workflows name, by the ids they name them with. */
function credentials() {
	const payUrl = httpAddress(
		'CHECKOUT_PAY_URL',
		env('CHECKOUT_PAY_URL', `${webhookBase()}/webhook/checkout/pay`),
	);
	return [
		{
			id: 'crTestS3Cred0001',
			name: 'Checkout S3',
			type: 'checkoutS3Api',
			data: {
				endpoint: env('ARCHIVE_S3_ENDPOINT', 'http://minio:9000'),
				region: env('ARCHIVE_S3_REGION', 'us-east-1'),
				accessKeyId: env('ARCHIVE_S3_ACCESS_KEY_ID', env('MINIO_ROOT_USER', 'checkout')),
				secretAccessKey: env('ARCHIVE_S3_SECRET_ACCESS_KEY', env('MINIO_ROOT_PASSWORD')),
				bucket: env('ARCHIVE_BUCKET', 'checkout-archive'),
				forcePathStyle: true,
				serverSideEncryption: 'none',
			},
		},
		{
			id: 'crTestAmqpCred01',
			name: 'Checkout RabbitMQ',
			type: 'checkoutRabbitMqApi',
			data: {
				connectWith: 'fields',
				host: env('RABBITMQ_HOST', 'rabbitmq'),
				port: Number(env('RABBITMQ_PORT', '5672')),
				vhost: '/',
				username: env('RABBITMQ_USER', 'checkout'),
				password: env('RABBITMQ_PASSWORD'),
				tls: false,
			},
		},
		{
			id: 'crStripeCred0001',
			name: 'Checkout Stripe',
			type: 'checkoutStripeApi',
			data: {
				secretKey: env('STRIPE_SECRET_KEY'),
				webhookSecret: env('STRIPE_WEBHOOK_SECRET'),
				baseUrl: env('STRIPE_BASE_URL', 'https://api.stripe.com'),
			},
		},
		{
			id: 'crMercadoPago001',
			name: 'Checkout Mercado Pago',
			type: 'checkoutMercadoPagoApi',
			data: {
				accessToken: env('MERCADOPAGO_ACCESS_TOKEN'),
				webhookSecret: env('MERCADOPAGO_WEBHOOK_SECRET'),
				sandbox: env('MERCADOPAGO_SANDBOX') === 'true',
				baseUrl: env('MERCADOPAGO_BASE_URL', 'https://api.mercadopago.com'),
			},
		},
		{
			id: 'crAsaasCred00001',
			name: 'Checkout Asaas',
			type: 'checkoutAsaasApi',
			data: {
				apiKey: env('ASAAS_API_KEY'),
				webhookToken: env('ASAAS_WEBHOOK_TOKEN'),
				baseUrl: env('ASAAS_BASE_URL', 'https://api.asaas.com'),
				checkoutPageUrl: env('ASAAS_CHECKOUT_PAGE_URL', 'https://www.asaas.com'),
			},
		},
		{
			id: 'crPipedriveCred1',
			name: 'Checkout Pipedrive',
			type: 'checkoutPipedriveApi',
			data: {
				apiToken: env('PIPEDRIVE_API_TOKEN'),
				companyDomain: env('PIPEDRIVE_COMPANY_DOMAIN'),
				baseUrl: env('PIPEDRIVE_BASE_URL'),
			},
		},
		{
			id: 'crLinksCred00001',
			name: 'Checkout Links API',
			type: 'checkoutLinksApi',
			data: {
				secret: env('CHECKOUT_LINKS_SECRET'),
				// After a rotation: the old secret, which still opens the links it signed until they expire.
				previousSecret: env('CHECKOUT_LINKS_PREVIOUS_SECRET'),
				payUrl,
				validDays: Number(env('CHECKOUT_LINKS_VALID_DAYS', '7')),
			},
		},
	];
}

/** A fingerprint of a credential's settings (no secret is ever written: only this hash is). */
function fingerprint(data) {
	const sorted = Object.keys(data)
		.sort()
		.map((k) => [k, data[k]]);
	return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

function n8n(args) {
	return new Promise((resolve, reject) => {
		execFile('n8n', args, { encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
			if (error) {
				const said = `${stderr || ''}${stdout || ''}`.trim() || error.message;
				reject(new Error(`n8n ${args[0]} failed: ${said.slice(-2000)}`));
			} else resolve(stdout);
		});
	});
}

/** The workflow ids an `n8n list:workflow --onlyId` prints, one a line. */
function idsIn(text) {
	return new Set(
		text
			.split('\n')
			.map((line) => line.trim())
			.filter((line) => /^[A-Za-z0-9]{16}$/.test(line)),
	);
}

/** Every credential n8n has, decrypted, by id (n8n refuses to export when there is none). */
async function existingCredentials() {
	let out;
	try {
		out = await n8n(['export:credentials', '--all', '--decrypted']);
	} catch {
		return new Map();
	}
	const json = out.slice(out.indexOf('['));
	return new Map(JSON.parse(json).map((c) => [c.id, c]));
}

/** Runs `tasks` (functions returning promises) with at most `limit` at once. */
async function pooled(tasks, limit) {
	const results = [];
	let next = 0;
	const worker = async () => {
		while (next < tasks.length) {
			const i = next++;
			results[i] = await tasks[i]();
		}
	};
	await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
	return results;
}

/** Queue-mode processes answer on the stack's network while they run (compose names them). */
async function runningQueueServices() {
	const found = [];
	for (const name of QUEUE_SERVICES) {
		try {
			await dns.lookup(name);
			found.push(name);
		} catch {
			// not running: its name does not resolve
		}
	}
	return found;
}

function readState(file, fallback) {
	try {
		return JSON.parse(readFileSync(join(STATE_DIR, file), 'utf8'));
	} catch {
		return fallback;
	}
}

function writeState(file, value) {
	mkdirSync(STATE_DIR, { recursive: true });
	writeFileSync(join(STATE_DIR, file), `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

/** Imports `list` (credentials) in one CLI call, through a file only the init can read. */
async function importCredentials(dir, list) {
	if (!list.length) return;
	const file = join(dir, 'credentials.json');
	writeFileSync(file, JSON.stringify(list), { mode: 0o600 });
	try {
		await n8n(['import:credentials', `--input=${file}`]);
	} finally {
		rmSync(file, { force: true });
	}
}

/** The shipped workflows as this deployment runs them: the shop's own address in the return URLs. */
function workflowsForThisShop(shopOrigin) {
	return readdirSync(WORKFLOWS)
		.filter((f) => f.endsWith('.json'))
		.map((file) => {
			const text = readFileSync(join(WORKFLOWS, file), 'utf8')
				.split(SHIPPED_SHOP_ORIGIN)
				.join(shopOrigin);
			return { file, text, id: JSON.parse(text).id };
		});
}

async function main() {
	const started = Date.now();
	if (!env('CHECKOUT_LINKS_SECRET'))
		fail(
			'Set CHECKOUT_LINKS_SECRET in .env (`openssl rand -base64 32`): it signs the pay and report links',
		);
	for (const name of ['CHECKOUT_LINKS_SECRET', 'CHECKOUT_LINKS_PREVIOUS_SECRET'])
		if (env(name) && env(name).length < 32)
			fail(`${name} must be at least 32 characters (\`openssl rand -base64 32\`)`);
	if (!env('CHECKOUT_SHOP_URL'))
		fail(
			"Set CHECKOUT_SHOP_URL in .env: your shop's address (e.g. https://www.your-shop.example), where buyers return from the payment page",
		);
	const shopOrigin = httpAddress('CHECKOUT_SHOP_URL', env('CHECKOUT_SHOP_URL'), { origin: true });

	const mode = env('EXECUTIONS_MODE', 'regular');
	if (mode !== 'queue') {
		const left = await runningQueueServices();
		if (left.length)
			fail(
				`the main is starting in ${mode} mode, but ${left.join(' and ')} from a queue-mode start still run ` +
					'and would keep taking webhooks and executions in queue mode. Either keep COMPOSE_PROFILES=queue, ' +
					`or stop them first: docker compose --profile queue stop ${QUEUE_SERVICES.join(' ')}`,
			);
	}
	if (isLoopback(webhookBase()))
		console.warn(
			`[init] N8N_WEBHOOK_URL is ${webhookBase()}: pay links and gateway notifications only work on this ` +
				"machine. Set it to the instance's public https address in .env.",
		);

	const desired = credentials();
	// written: the settings the init last wrote to each credential; seen: the settings .env last asked for.
	const state = readState('credentials.json', { written: {}, seen: {} });
	const firstStartDone = existsSync(join(STATE_DIR, 'checkout-recovery-initialised'));
	const changed = desired.filter((c) => state.seen[c.id] !== fingerprint(c.data));
	if (firstStartDone && changed.length === 0) {
		console.log('[init] set up on an earlier start, and the credentials match .env: nothing to do');
		return;
	}

	const dir = mkdtempSync(join(tmpdir(), 'checkout-init-'));
	try {
		const shipped = workflowsForThisShop(shopOrigin);
		// One CLI call first and alone: on a new database it runs n8n's migrations.
		const have = await existingCredentials();
		const haveWorkflows = firstStartDone
			? new Set()
			: idsIn(await n8n(['list:workflow', '--onlyId']));

		// Credentials: the missing ones; and those whose settings in .env changed, unless edited in n8n.
		const toWrite = [];
		const keptAsEdited = [];
		for (const c of changed.length ? desired : []) {
			const current = have.get(c.id);
			const want = fingerprint(c.data);
			if (!current) toWrite.push(c);
			else if (fingerprint(current.data ?? {}) === want) state.written[c.id] = want;
			else if (state.written[c.id] === fingerprint(current.data ?? {})) toWrite.push(c);
			else if (state.seen[c.id] !== want) keptAsEdited.push(c.name);
		}
		await importCredentials(dir, toWrite);

		let imported = 0;
		let published = 0;
		if (!firstStartDone) {
			const missing = shipped.filter((w) => !haveWorkflows.has(w.id));
			if (missing.length) {
				const wfDir = join(dir, 'workflows');
				mkdirSync(wfDir);
				for (const w of missing) writeFileSync(join(wfDir, w.file), w.text);
				await n8n(['import:workflow', '--separate', `--input=${wfDir}`]);
				imported = missing.length;
			}
		}
		for (const c of toWrite) state.written[c.id] = fingerprint(c.data);
		for (const c of desired) state.seen[c.id] = fingerprint(c.data);
		writeState('credentials.json', state);

		if (!firstStartDone) {
			// Workflows imported just now are unpublished; only those that were there may be published already.
			const active = shipped.some((w) => haveWorkflows.has(w.id))
				? idsIn(await n8n(['list:workflow', '--active=true', '--onlyId']))
				: new Set();
			const toPublish = shipped.filter((w) => !active.has(w.id));
			// Side by side on PostgreSQL (compose); one at a time on SQLite, which takes one writer.
			await pooled(
				toPublish.map((w) => () => n8n(['publish:workflow', `--id=${w.id}`])),
				env('DB_TYPE', 'sqlite') === 'postgresdb' ? 4 : 1,
			);
			published = toPublish.length;
			writeFileSync(
				join(STATE_DIR, 'checkout-recovery-initialised'),
				`${new Date().toISOString()}\n`,
			);
		}
		for (const name of keptAsEdited)
			console.warn(
				`[init] credential "${name}" was edited in n8n since the init wrote it: its new settings in .env were not applied`,
			);
		console.log(
			`[init] wrote ${toWrite.length} credentials, imported ${imported} workflows, published ${published} ` +
				`workflows in ${((Date.now() - started) / 1000).toFixed(1)} s`,
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
