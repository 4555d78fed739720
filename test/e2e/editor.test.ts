/**
 * The shipped workflows as a shop owner first sees them: the real n8n editor in Debian's headless
 * Chromium, every exported workflow opened on the canvas, and every node of the pack opened in the node
 * details view with its dropdowns loaded from the Pipedrive stand-in. No node may show an issue (the red
 * triangle on the canvas, a parameter or credential warning in the node view): a valid workflow that looks
 * broken is a support ticket. Screenshots of each canvas go to .artifacts/screenshots/editor-*.png.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, BrowserContext, Page } from 'playwright-core';

import { dismissPopovers, launchChromium, signInToEditor } from '../../testbench/browser';
import { E2eStack } from '../../testbench/e2eStack';
import { REPO_ROOT, type N8nInstance } from '../../testbench/n8n';
import { uniqueTopology } from '../../testbench/rabbitmq';
import { exportedWorkflowForTest } from '../../testbench/workflows';

jest.setTimeout(600_000);

const SHOTS = join(REPO_ROOT, '.artifacts/screenshots');
const PACK = 'n8n-nodes-checkout-recovery.';
const BUCKET = 'editor';
const topology = uniqueTopology('e2e-editor');
const shipped = readdirSync(join(REPO_ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'))
	.sort()
	.map((file) => {
		const wf = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as {
			id: string;
			nodes: Array<{ name: string; type: string; disabled?: boolean }>;
		};
		return {
			file,
			id: wf.id,
			nodes: wf.nodes.filter((n) => !n.type.endsWith('.stickyNote')).map((n) => n.name),
			packNodes: wf.nodes.filter((n) => n.type.startsWith(PACK)).map((n) => n.name),
		};
	});

let stack: E2eStack;
let n8n: N8nInstance;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
	mkdirSync(SHOTS, { recursive: true });
	stack = await E2eStack.start({
		s3: { bucket: BUCKET },
		topology,
		pipedrive: true,
		gateways: true,
		links: 'http://127.0.0.1:9/webhook/checkout/pay',
		// The shipped workflows, on this run's own queue names (the machine's broker is shared).
		workflows: shipped.map((w) => exportedWorkflowForTest(w.file, { topology, prefix: 'editor' })),
	});
	n8n = stack.n8n;
	browser = await launchChromium();
	context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
	// The owner account, made through the context so that its auth cookie is the browser's.
	await signInToEditor(context, n8n.baseUrl);
	page = await context.newPage();
});

afterAll(async () => {
	await browser?.close();
	await stack?.stop();
});

async function openWorkflow(id: string, nodes: string[]): Promise<void> {
	await page.goto(`${n8n.baseUrl}/workflow/${id}`);
	// Generous: on a CI machine the compose suite runs beside this one, and the editor bundle loads slowly.
	await page.locator('[data-test-id="canvas-wrapper"]').waitFor({ timeout: 180_000 });
	for (const name of nodes)
		await page
			.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`)
			.waitFor({ timeout: 90_000 });
	// The editor works the issues out after the canvas mounted.
	await page.waitForLoadState('networkidle');
	await page.waitForTimeout(1000);
	await dismissPopovers(page);
}

async function canvasIssues(): Promise<string[]> {
	return await page
		.locator('[data-test-id="canvas-node"]:has([data-test-id="node-issues"])')
		.evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-node-name') ?? '?'));
}

it.each(shipped.map((w) => [w.file, w] as const))(
	'%s opens on the canvas with no node showing an issue, and each pack node opens clean',
	async (file, workflow) => {
		await openWorkflow(workflow.id, workflow.nodes);
		await page.screenshot({ path: join(SHOTS, `editor-${file.replace(/\.json$/, '')}.png`) });
		expect({ file, nodesWithIssues: await canvasIssues() }).toEqual({ file, nodesWithIssues: [] });

		for (const name of workflow.packNodes) {
			await page.locator(`[data-test-id="canvas-node"][data-node-name="${name}"]`).dblclick();
			const ndv = page.locator('[data-test-id="ndv"]');
			await ndv.waitFor({ timeout: 90_000 });
			// Dropdowns load from Pipedrive; their answer decides whether a value is flagged as unknown.
			await page.waitForLoadState('networkidle');
			await page.waitForTimeout(1500);
			const parameterIssues = await ndv
				.locator('[data-test-id="parameter-issues"]')
				.evaluateAll((els) =>
					els.map(
						(el) =>
							el
								.closest(
									'[data-test-id="parameter-input"], [data-test-id^="parameter-input-"], .parameter-item',
								)
								?.getAttribute('data-test-id') ??
							el.textContent?.trim() ??
							'?',
					),
				);
			const credentialIssues = await ndv
				.locator('[data-test-id="node-credentials-select"][class*="hasIssues"]')
				.count();
			expect({ file, node: name, parameterIssues, credentialIssues }).toEqual({
				file,
				node: name,
				parameterIssues: [],
				credentialIssues: 0,
			});
			await page.keyboard.press('Escape');
			await ndv.waitFor({ state: 'hidden', timeout: 30_000 });
		}
		// Opening nodes must not have made issues appear either.
		expect({ file, nodesWithIssues: await canvasIssues() }).toEqual({ file, nodesWithIssues: [] });
	},
);

it('the check sees an issue where the editor shows one: a pack node with a required parameter emptied', async () => {
	const processor = JSON.parse(
		readFileSync(join(REPO_ROOT, 'workflows/payment-event-processor.json'), 'utf8'),
	) as { nodes: Array<{ name: string; parameters: Record<string, unknown> }> };
	const upsert = processor.nodes.find((n) => n.name === 'Upsert lead')!;
	const created = await context.request.post(`${n8n.baseUrl}/rest/workflows`, {
		data: {
			name: '[test] a node with an issue',
			nodes: [{ ...upsert, parameters: { ...upsert.parameters, email: '' } }],
			connections: {},
			settings: {},
		},
	});
	expect(created.status()).toBe(200);
	const id = ((await created.json()) as { data: { id: string } }).data.id;
	await openWorkflow(id, ['Upsert lead']);
	expect(await canvasIssues()).toEqual(['Upsert lead']);
});
