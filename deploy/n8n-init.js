#!/usr/bin/env node
/**
 * The compose stack's init service: on the first start of a database, imports the pack's credentials
 * (their secrets read from the environment, which compose fills from .env; nothing secret is in any file
 * of the repository) and the exported workflows, and publishes the workflows, so that `docker compose up`
 * ends with every workflow active against MinIO and RabbitMQ. It never overwrites a credential or a
 * workflow that is there already, finishes a first start that stopped half way, and on every start after
 * a complete one changes nothing: a shop owner's edits in the editor stay. Runs with the n8n image's own
 * node and n8n CLI.
 */
'use strict';

const { execFileSync } = require('node:child_process');
const {
	copyFileSync,
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
/** A volume of the init service's own (docker-compose.yml), where it notes that the first start is done. */
const STATE_DIR = process.env.CHECKOUT_INIT_STATE_DIR || '/init-state';
const env = (name, fallback = '') => process.env[name] ?? fallback;
const n8n = (args) =>
	execFileSync('n8n', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** The credentials the exported workflows name, by the ids they name them with. */
function credentials() {
	return [
		{
			id: 'crTestS3Cred0001',
			name: 'Checkout S3',
			type: 'checkoutS3Api',
			data: {
				endpoint: env('ARCHIVE_S3_ENDPOINT', 'http://minio:9000'),
				region: env('ARCHIVE_S3_REGION', 'us-east-1'),
				accessKeyId: env('ARCHIVE_S3_ACCESS_KEY_ID', env('MINIO_ROOT_USER')),
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
				baseUrl: 'https://api.stripe.com',
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
				baseUrl: 'https://api.mercadopago.com',
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
				baseUrl: '',
			},
		},
		{
			id: 'crLinksCred00001',
			name: 'Checkout Links API',
			type: 'checkoutLinksApi',
			data: {
				secret: env('CHECKOUT_LINKS_SECRET'),
				payUrl: env(
					'CHECKOUT_PAY_URL',
					`${env('N8N_WEBHOOK_URL', 'http://localhost:5678/').replace(/\/+$/, '')}/webhook/checkout/pay`,
				),
				validDays: Number(env('CHECKOUT_LINKS_VALID_DAYS', '7')),
			},
		},
		{
			// n8n's Header Auth for the report page: a request without this header and key gets 403.
			id: 'crReportHeaderAu',
			name: 'Checkout report key',
			type: 'httpHeaderAuth',
			data: { name: 'X-Report-Key', value: env('CHECKOUT_REPORT_KEY') },
		},
	];
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

function existingCredentialIds() {
	let out;
	try {
		out = n8n(['export:credentials', '--all']);
	} catch {
		return new Set(); // n8n refuses to export when there is none
	}
	const json = out.slice(out.indexOf('['));
	return new Set(JSON.parse(json).map((c) => c.id));
}

function main() {
	// Written once everything below has succeeded: a later start changes nothing, whatever the shop
	// owner did since (a workflow edited, unpublished or deleted, a credential changed in the editor).
	const marker = join(STATE_DIR, 'checkout-recovery-initialised');
	if (existsSync(marker)) {
		console.log('[init] set up on an earlier start: nothing to do');
		return;
	}
	if (!env('CHECKOUT_LINKS_SECRET'))
		throw new Error(
			'Set CHECKOUT_LINKS_SECRET in .env (any long random string): it signs the pay links',
		);
	if (!env('CHECKOUT_REPORT_KEY'))
		throw new Error(
			'Set CHECKOUT_REPORT_KEY in .env (any long random string): the report page asks for it in X-Report-Key',
		);
	const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.json'));
	const shipped = files.map((f) => ({
		file: f,
		id: JSON.parse(readFileSync(join(WORKFLOWS, f), 'utf8')).id,
	}));
	// A first start that stopped half way is finished, never redone: what is there already stays as it is.
	const haveWorkflows = idsIn(n8n(['list:workflow', '--onlyId']));
	const haveCredentials = existingCredentialIds();
	const dir = mkdtempSync(join(tmpdir(), 'checkout-init-'));
	try {
		const missingCredentials = credentials().filter((c) => !haveCredentials.has(c.id));
		if (missingCredentials.length) {
			const file = join(dir, 'credentials.json');
			writeFileSync(file, JSON.stringify(missingCredentials), { mode: 0o600 });
			n8n(['import:credentials', `--input=${file}`]);
		}
		const missingWorkflows = shipped.filter((w) => !haveWorkflows.has(w.id));
		if (missingWorkflows.length) {
			const wfDir = join(dir, 'workflows');
			mkdirSync(wfDir);
			for (const w of missingWorkflows) copyFileSync(join(WORKFLOWS, w.file), join(wfDir, w.file));
			n8n(['import:workflow', '--separate', `--input=${wfDir}`]);
		}
		const active = idsIn(n8n(['list:workflow', '--active=true', '--onlyId']));
		const toPublish = shipped.filter((w) => !active.has(w.id));
		for (const w of toPublish) n8n(['publish:workflow', `--id=${w.id}`]);
		mkdirSync(STATE_DIR, { recursive: true });
		writeFileSync(marker, `${new Date().toISOString()}\n`);
		console.log(
			`[init] imported ${missingCredentials.length} credentials and ${missingWorkflows.length} workflows, published ${toPublish.length} workflows`,
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

main();
