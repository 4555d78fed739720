/**
 * The README's pictures, taken from the real thing (npm run screenshots): it runs the local pipeline
 * (scripts/start.ts, as `npm start` does, with the demo clock), and Debian's headless Chromium photographs
 * each exported workflow in the real n8n editor, the rules table, the shop form, the prefilled payment
 * page, the shop's pages after paying and after a refused card, the Pipedrive stand-in once the deals are
 * won and followed up, and the recovery report. The pictures go to docs/images/, replacing the old ones.
 */
import '../testbench/quietWarnings';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from 'playwright-core';

import { dismissPopovers, launchChromium, signInToEditor } from '../testbench/browser';
import { reportLinkFor } from '../lib/links/checkoutLinks';
import { LOCAL_LINKS_SECRET } from '../testbench/credentials';
import { REPO_ROOT } from '../testbench/n8n';
import { waitFor } from '../testbench/ports';

const OUT = join(REPO_ROOT, 'docs/images');
const N8N = `http://127.0.0.1:${process.env.CR_N8N_PORT ?? 5678}`;
const SHOP = `http://127.0.0.1:${process.env.CR_SHOP_PORT ?? 8080}`;
const PIPEDRIVE = `http://127.0.0.1:${process.env.CR_PIPEDRIVE_PORT ?? 8090}`;

function log(message: string): void {
	console.log(`[screenshots] ${message}`);
}

/** The local pipeline as `npm start` runs it, until it says it is ready. */
async function startPipeline(): Promise<{ stop: () => Promise<void> }> {
	const child = spawn(process.execPath, [join(REPO_ROOT, 'build/scripts/start.js')], {
		env: { ...process.env, CHECKOUT_DEMO_CLOCK: '1' },
		stdio: ['ignore', 'pipe', 'inherit'],
	});
	let output = '';
	child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
	await waitFor(
		'the local pipeline to be ready',
		async () => (output.includes('[start] n8n is ready') ? true : undefined),
		{
			timeoutMs: 600_000,
			intervalMs: 500,
			abort: () => (child.exitCode !== null ? `start.js exited:\n${output}` : undefined),
		},
	);
	return {
		stop: async () => {
			if (child.exitCode !== null) return;
			const gone = new Promise<void>((r) => child.once('exit', () => r()));
			child.kill('SIGTERM');
			await gone;
		},
	};
}

async function shot(page: Page, name: string, fullPage = false): Promise<void> {
	await page.screenshot({ path: join(OUT, `${name}.png`), fullPage });
	log(`docs/images/${name}.png`);
}

async function buyer(page: Page, name: string, email: string, source: string): Promise<void> {
	await page.goto(`${SHOP}/checkout/?utm_source=${source}&utm_medium=social`);
	await page.fill('#nome', name);
	await page.fill('#email', email);
	await page.fill('#telefone', '11 98765 4321');
	await page.fill('#cpf', '529.982.247-25');
	await page.check('#lgpd');
}

const startedAt = Date.now();

async function main(): Promise<void> {
	mkdirSync(OUT, { recursive: true });
	const pipeline = await startPipeline();
	const browser = await launchChromium();
	try {
		const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
		await signInToEditor(context, N8N);
		const page = await context.newPage();

		for (const file of readdirSync(join(REPO_ROOT, 'workflows')).filter((f) =>
			f.endsWith('.json'),
		)) {
			const wf = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as {
				id: string;
				nodes: Array<{ name: string }>;
			};
			await page.goto(`${N8N}/workflow/${wf.id}`);
			for (const node of wf.nodes)
				await page
					.locator(`[data-test-id="canvas-node"][data-node-name="${node.name}"]`)
					.waitFor({ timeout: 60_000 });
			await page.waitForLoadState('networkidle');
			await dismissPopovers(page);
			await shot(page, `workflow-${file.replace(/\.json$/, '')}`);
			if (file === 'followup-rules.json') {
				await page
					.locator('[data-test-id="canvas-node"][data-node-name="Run follow-up rules"]')
					.dblclick();
				await page.locator('[data-test-id="ndv"]').waitFor();
				await page.waitForLoadState('networkidle');
				await shot(page, 'rules-table');
				await page.keyboard.press('Escape');
			}
		}

		// A buyer who pays, and one whose card is refused.
		await buyer(page, 'Ana Clara Souza', 'ana.clara@example.com', 'instagram');
		await shot(page, 'shop-form', true);
		await Promise.all([page.waitForURL(/\/pay\//), page.click('#comprar')]);
		await shot(page, 'payment-page', true);
		await Promise.all([page.waitForURL(/\/obrigado/), page.click('#pay')]);
		await shot(page, 'shop-thank-you', true);
		await buyer(page, 'Bruno Lima', 'bruno.lima@example.com', 'facebook');
		await Promise.all([page.waitForURL(/\/pay\//), page.click('#comprar')]);
		await Promise.all([page.waitForURL(/pagamento-nao-concluido/), page.click('#fail')]);
		await shot(page, 'shop-not-finished', true);
		const retryPage = page.url();
		// And one who gives up on the payment page.
		await buyer(page, 'Carla Dias', 'carla.dias@example.com', 'google');
		await Promise.all([page.waitForURL(/\/pay\//), page.click('#comprar')]);
		await Promise.all([page.waitForURL(/from=gateway/), page.click('#abandon')]);
		const buyersDone = Date.now();

		// The deals in the Pipedrive stand-in: won, and followed up under the demo clock.
		log('waiting for the won deal and the follow-up activity (demo clock: a few minutes)');
		await waitFor(
			'a won deal and a follow-up activity in the Pipedrive stand-in',
			async () => {
				const state = (await (await fetch(`${PIPEDRIVE}/__standin/state`)).json()) as {
					deals: Array<{ id: number; status: string }>;
					activities: Array<{ deal_id: number }>;
				};
				const open = new Set(state.deals.filter((d) => d.status === 'open').map((d) => d.id));
				// The won deal, and a follow-up on each of the two open ones (refused card, abandoned).
				return state.deals.some((d) => d.status === 'won') &&
					new Set(state.activities.filter((a) => open.has(a.deal_id)).map((a) => a.deal_id)).size >=
						2
					? true
					: undefined;
			},
			{ timeoutMs: 300_000, intervalMs: 5000 },
		);
		log(
			`a won deal and the refused-card and abandoned-checkout follow-ups ${((Date.now() - buyersDone) / 1000).toFixed(0)} s after the last buyer, ${((Date.now() - startedAt) / 1000).toFixed(0)} s after the start`,
		);
		await page.goto(`${PIPEDRIVE}/__standin/`);
		await shot(page, 'pipedrive-standin', true);

		// Bruno comes back through the "try again" link and pays: a checkout recovered after its follow-up.
		await page.goto(retryPage);
		await Promise.all([page.waitForURL(/\/pay\//), page.click('#retry')]);
		await Promise.all([page.waitForURL(/\/obrigado/), page.click('#pay')]);
		log('waiting for the recovered deal to be won');
		await waitFor(
			'the recovered deal won too',
			async () => {
				const state = (await (await fetch(`${PIPEDRIVE}/__standin/state`)).json()) as {
					deals: Array<{ status: string }>;
				};
				return state.deals.filter((d) => d.status === 'won').length >= 2 ? true : undefined;
			},
			{ timeoutMs: 180_000, intervalMs: 3000 },
		);

		const report = await context.newPage();
		await report.goto(
			reportLinkFor({ secret: LOCAL_LINKS_SECRET, payUrl: `${N8N}/webhook/checkout/pay` }).url,
		);
		await shot(report, 'recovery-report', true);
	} finally {
		await browser.close();
		await pipeline.stop();
	}
}

main().catch((error: unknown) => {
	console.error('[screenshots] failed:', error instanceof Error ? error.message : error);
	process.exit(1);
});
