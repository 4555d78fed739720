/**
 * The main job, locally and without Docker: the S3-compatible server, the machine's RabbitMQ, and the
 * real n8n with the built pack loaded and every exported workflow imported and active, and stand-ins for
 * what cannot be reached from here (payment gateways, Pipedrive). Data is kept in .artifacts/local between
 * runs (the Pipedrive stand-in's is not). Stops cleanly on Ctrl-C.
 */
import '../testbench/quietWarnings';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { REPO_ROOT, startN8n, type CredentialSpec } from '../testbench/n8n';
import { startS3Server } from '../testbench/s3';
import { startGatewayStandIn } from '../testbench/standins/gateways';
import { startPipedriveStandIn } from '../testbench/standins/pipedrive';
import { startShopPage } from '../testbench/standins/shopPage';
import { reportLinkFor } from '../lib/links/checkoutLinks';
import { writeLocalWorkflows } from '../testbench/demo';
import {
	GATEWAY_KEYS,
	gatewayCredentials,
	linksCredential,
	LOCAL_LINKS_SECRET,
	pipedriveCredential,
} from '../testbench/credentials';

const LOCAL = resolve(REPO_ROOT, '.artifacts/local');
const BUCKET = 'checkout-archive';

const startedAt = Date.now();
/** One line per step, with the time since the start. */
function step(message: string): void {
	console.log(`[start] ${message} (${((Date.now() - startedAt) / 1000).toFixed(1)} s)`);
}

async function main(): Promise<void> {
	mkdirSync(join(LOCAL, 's3'), { recursive: true });
	const s3Port = Number(process.env.CR_S3_PORT ?? 4568);
	const n8nPort = Number(process.env.CR_N8N_PORT ?? 5678);
	const s3 = await startS3Server({ port: s3Port, directory: join(LOCAL, 's3') });
	await s3.createBucket(BUCKET).catch(() => undefined); // exists from an earlier run
	step(`S3-compatible server (s3rver) on ${s3.endpoint}, bucket "${BUCKET}"`);

	const settings = s3.settings(BUCKET);
	const intake = (p: string) => `http://127.0.0.1:${n8nPort}/webhook/checkout/payment-webhook/${p}`;
	const gateways = await startGatewayStandIn({
		// A fixed port: the gateway credentials hold it, and unchanged credentials let a second start skip the import.
		port: Number(process.env.CR_GATEWAY_PORT ?? 8070),
		stripe: { ...GATEWAY_KEYS.stripe, webhookUrl: intake('stripe') },
		// (the stand-ins deliver to the visual intake; point a gateway at checkout/fast/… to use the trigger)
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: { ...GATEWAY_KEYS.asaas, webhookUrl: intake('asaas') },
	});
	step(`payment gateway stand-ins (Stripe, Mercado Pago, Asaas) on ${gateways.baseUrl}`);
	// Pipedrive cannot be reached from here: its stand-in (state in memory, empty at each start).
	const pipedrive = await startPipedriveStandIn({
		port: Number(process.env.CR_PIPEDRIVE_PORT ?? 8090),
		token: 'local-pipedrive-token',
	});
	step(`Pipedrive stand-in on ${pipedrive.baseUrl}`);
	const shopPort = Number(process.env.CR_SHOP_PORT ?? 8080);
	// The demo clock: the follow-up rules every 30 s, a day of theirs lasting a minute (testbench/demo.ts).
	const demoClock = process.env.CHECKOUT_DEMO_CLOCK === '1';
	const workflows = writeLocalWorkflows(
		readdirSync(join(REPO_ROOT, 'workflows'))
			.filter((f) => f.endsWith('.json'))
			.map((f) => join(REPO_ROOT, 'workflows', f)),
		join(LOCAL, 'workflows'),
		{ shopOrigin: `http://127.0.0.1:${shopPort}`, demoClock },
	);
	const credentials: CredentialSpec[] = [
		{
			id: 'crTestS3Cred0001',
			name: 'Checkout S3',
			type: 'checkoutS3Api',
			data: { ...settings, serverSideEncryption: 'none' },
		},
		{
			id: 'crTestAmqpCred01',
			name: 'Checkout RabbitMQ',
			type: 'checkoutRabbitMqApi',
			data: {
				connectWith: 'fields',
				host: '127.0.0.1',
				port: 5672,
				vhost: '/',
				username: 'guest',
				password: 'guest',
				tls: false,
			},
		},
		...gatewayCredentials(gateways.baseUrl),
		pipedriveCredential(pipedrive.baseUrl, pipedrive.token),
		linksCredential(`http://127.0.0.1:${n8nPort}/webhook/checkout/pay`),
	];
	// A second start with the same workflows and credentials finds them in n8n's database already: it skips
	// the import (a CLI run per workflow, the slow part of a start).
	const importMark = join(LOCAL, 'n8n', '.imported');
	const importHash = createHash('sha256')
		.update(JSON.stringify(credentials))
		.update(workflows.map((f) => readFileSync(f, 'utf8')).join('\n'))
		.digest('hex');
	const alreadyImported =
		existsSync(importMark) && readFileSync(importMark, 'utf8').trim() === importHash;
	step(
		alreadyImported
			? 'n8n: starting (workflows and credentials unchanged since the last start: no import)'
			: 'n8n: importing the workflows and credentials, then starting (RabbitMQ on 127.0.0.1:5672)',
	);
	const n8n = await startN8n({
		port: n8nPort,
		userFolder: join(LOCAL, 'n8n'),
		workflows,
		skipImport: alreadyImported,
		credentials,
		// The fast-intake trigger answers without an execution; lazy isolate acquisition lets it skip the expression sandbox too.
		env: { N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE: 'true' },
		ready: async (instance) =>
			(
				await fetch(instance.webhookUrl('checkout/payment-webhook/stripe'), {
					method: 'POST',
					body: '{}',
				})
			).status === 401,
	}).catch(async (error: unknown) => {
		await s3.stop();
		await gateways.close();
		await pipedrive.close();
		throw error;
	});
	writeFileSync(importMark, importHash);
	const shop = await startShopPage(
		n8n.webhookUrl('checkout/lead'),
		shopPort,
		n8n.webhookUrl('checkout/pay'),
	);
	step(`n8n is ready with the pack loaded and ${workflows.length} workflows active`);
	const tryIt = [
		`1. The shop: ${shop.url} – fill the form; on the payment page press Pagar, Cartão recusado or Abandonar`,
		`2. The deals, activities and notes in Pipedrive (a stand-in): ${pipedrive.baseUrl}/__standin/`,
		demoClock
			? '   Demo clock on: the follow-up rules run every 30 s and fire after a minute'
			: '   Follow-up rules run every 15 min and wait hours: CHECKOUT_DEMO_CLOCK=1 npm start shows them within minutes',
		`3. The editor: ${n8n.baseUrl}/ (first visit: create the owner account); the rules are in "Run follow-up rules"`,
		`4. The recovery report (a signed link, valid 30 days; the weekly summary carries a new one): ${reportLinkFor({ secret: LOCAL_LINKS_SECRET, payUrl: n8n.webhookUrl('checkout/pay') }).url}`,
		`Webhook URLs for a real shop: ${n8n.webhookUrl('checkout/lead')} (form), ${n8n.webhookUrl('checkout/fast/{stripe|mercadopago|asaas}')} (gateways)`,
		'Ctrl-C stops everything; the data stays in .artifacts/local',
	];
	console.log(`\nTry it:\n${tryIt.map((line) => `  ${line}`).join('\n')}\n`);

	let stopping = false;
	const stop = async () => {
		if (stopping) return;
		stopping = true;
		console.log('\n[start] stopping');
		await shop.close();
		await n8n.stop();
		await gateways.close();
		await pipedrive.close();
		await s3.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
	if (process.env.CR_START_EXIT_WHEN_READY) await stop();
}

main().catch((error: unknown) => {
	console.error('[start] failed:', error instanceof Error ? error.message : error);
	process.exit(1);
});
