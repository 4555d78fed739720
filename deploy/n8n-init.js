#!/usr/bin/env node
/**
 * The compose stack's init service: on the first start of a database, imports the pack's credentials
 * (their secrets read from the environment, which compose fills from .env; nothing secret is in any file
 * of the repository) and the exported workflows, and publishes the workflows, so that `docker compose up`
 * ends with every workflow active against MinIO and RabbitMQ. On later starts it changes nothing: a shop
 * owner's edits in the editor stay. Runs with the n8n image's own node and n8n CLI.
 */
'use strict';

const { execFileSync } = require('node:child_process');
const { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const WORKFLOWS = process.env.CHECKOUT_WORKFLOWS_DIR || '/workflows';
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
	];
}

function main() {
	const files = readdirSync(WORKFLOWS).filter((f) => f.endsWith('.json'));
	const ids = files.map((f) => JSON.parse(readFileSync(join(WORKFLOWS, f), 'utf8')).id);
	// `n8n list:workflow` prints "id|name" lines: a database that has the shipped workflows was set up before.
	const known = new Set(
		n8n(['list:workflow'])
			.split('\n')
			.map((line) => line.split('|')[0].trim()),
	);
	if (ids.every((id) => known.has(id))) {
		console.log(`[init] the ${ids.length} workflows are there already: nothing to do`);
		return;
	}
	if (!env('CHECKOUT_LINKS_SECRET'))
		throw new Error(
			'Set CHECKOUT_LINKS_SECRET in .env (any long random string): it signs the pay links',
		);
	const dir = mkdtempSync(join(tmpdir(), 'checkout-init-'));
	try {
		const file = join(dir, 'credentials.json');
		writeFileSync(file, JSON.stringify(credentials()), { mode: 0o600 });
		n8n(['import:credentials', `--input=${file}`]);
		n8n(['import:workflow', '--separate', `--input=${WORKFLOWS}`]);
		for (const id of ids) n8n(['publish:workflow', `--id=${id}`]);
		console.log(
			`[init] imported ${credentials().length} credentials and published ${ids.length} workflows`,
		);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

main();
