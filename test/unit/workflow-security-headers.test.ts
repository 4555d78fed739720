/**
 * Every HTML answer and redirect of the shipped workflows carries the pack's security headers
 * (lib/html/securityHeaders.ts), and no page of theirs needs a script the policy would block.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { HTML_SECURITY_HEADERS } from '../../lib/html/securityHeaders';
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

it('the policy forbids scripts and framing, and no page relies on a script', () => {
	const csp = HTML_SECURITY_HEADERS['Content-Security-Policy'];
	expect(csp).toMatch(/default-src 'none'/);
	expect(csp).not.toMatch(/script-src/);
	expect(csp).toMatch(/frame-ancestors 'none'/);
	const pages = [
		...responders.map(({ node }) => String(node.parameters.responseBody ?? '')),
		rejectionAnswer([{ field: 'cpf', message: 'inválido' }], 'text/html').body,
		linkUnavailableAnswer().body,
	];
	for (const page of pages) expect(page).not.toMatch(/<script|javascript:|\son[a-z]+=/i);
});
