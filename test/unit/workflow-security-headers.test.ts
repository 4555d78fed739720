/**
 * Every HTML answer and redirect of the shipped workflows carries the pack's security headers, and every
 * page the pack renders carries its Content-Security-Policy (lib/html/securityHeaders.ts); no page needs a
 * script the policy would block.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import {
	HTML_CSP_META,
	HTML_SECURITY_HEADERS,
	PAGE_CONTENT_SECURITY_POLICY,
} from '../../lib/html/securityHeaders';
import { renderReportUnavailableHtml } from '../../lib/checkout/reportHtml';
import { linkUnavailableAnswer, rejectionAnswer } from '../../lib/forms/responses';

interface WorkflowNode {
	name: string;
	type: string;
	parameters: {
		respondWith?: string;
		responseBody?: unknown;
		options?: { responseHeaders?: { entries?: Array<{ name: string; value: string }> } };
	};
}

const dir = join(__dirname, '../../workflows');
const responders = readdirSync(dir)
	.filter((f) => f.endsWith('.json'))
	.flatMap((file) =>
		(JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: WorkflowNode[] }).nodes
			.filter((n) => n.type === 'n8n-nodes-base.respondToWebhook')
			.map((node) => ({ file, node })),
	);
const headersOf = (node: WorkflowNode) =>
	Object.fromEntries(
		(node.parameters.options?.responseHeaders?.entries ?? []).map((e) => [
			e.name.toLowerCase(),
			e.value,
		]),
	);
const answersHtml = (node: WorkflowNode) =>
	node.parameters.respondWith === 'redirect' || 'content-type' in headersOf(node);

it('finds the HTML answers and redirects of lead capture and the report', () => {
	const files = new Set(responders.filter(({ node }) => answersHtml(node)).map((r) => r.file));
	expect(files).toEqual(new Set(['checkout-lead-capture.json', 'checkout-report.json']));
});

it.each(
	responders
		.filter(({ node }) => answersHtml(node))
		.map((r) => [`${r.file}: ${r.node.name}`, r.node]),
)('%s sends the security headers', (_name, node) => {
	const headers = headersOf(node as WorkflowNode);
	for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS))
		expect(headers[name.toLowerCase()]).toBe(value);
});

it('every page carries the policy, which forbids scripts, and none relies on a script', () => {
	expect(PAGE_CONTENT_SECURITY_POLICY).toMatch(/default-src 'none'/);
	expect(PAGE_CONTENT_SECURITY_POLICY).not.toMatch(/script-src/);
	const pages = [
		...responders
			.map(({ node }) => String(node.parameters.responseBody ?? ''))
			.filter((body) => body.includes('<html')),
		rejectionAnswer([{ field: 'document', message: 'inválido' }], 'text/html').body,
		linkUnavailableAnswer().body,
		renderReportUnavailableHtml('Pipedrive is not set up'),
	];
	expect(pages.length).toBeGreaterThanOrEqual(8);
	for (const page of pages) {
		expect(page).toContain(HTML_CSP_META);
		expect(page).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
	}
});

it("no shipped workflow sends a pay link to the shop's pages: a gateway's return addresses are the shop's plain pages or n8n's own pay link", () => {
	const returns = readdirSync(dir)
		.filter((f) => f.endsWith('.json'))
		.flatMap(
			(file) =>
				(
					JSON.parse(readFileSync(join(dir, file), 'utf8')) as {
						nodes: Array<{ name: string; parameters: Record<string, unknown> }>;
					}
				).nodes,
		)
		.flatMap((node) =>
			['successUrl', 'cancelUrl']
				.filter((p) => typeof node.parameters[p] === 'string')
				.map((p) => String(node.parameters[p])),
		);
	expect(returns.length).toBeGreaterThanOrEqual(4);
	for (const url of returns) {
		if (!/payLink/.test(url)) expect(url).toMatch(/^https:\/\/loja\.example\/[a-z-]*$/);
		// The pay link itself, back to n8n's "not finished" page: nothing appended to a shop address.
		else expect(url).toMatch(/^=\{\{ \$\('[^']+'\)\.item\.json\.payLink \+ '&from=gateway' \}\}$/);
	}
});
