/**
 * The shipped workflows open in the editor with no parameter issue on any of the pack's nodes: the same
 * check the editor runs (n8n-workflow's getNodeParametersIssues over the node's parameters with their
 * defaults filled in, as the editor fills them), for every node of every exported workflow. A node with an
 * issue also refuses to run: an empty required parameter hidden behind an expression once made the report
 * page answer 500. (Dropdown values are checked against the loaded lists in the in-process node tests.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { NodeHelpers, type INode, type INodeType } from 'n8n-workflow';

import { CheckoutForm } from '../../nodes/CheckoutForm/CheckoutForm.node';
import { CheckoutFormTrigger } from '../../nodes/CheckoutFormTrigger/CheckoutFormTrigger.node';
import { CheckoutQueueTrigger } from '../../nodes/CheckoutQueueTrigger/CheckoutQueueTrigger.node';
import { PaymentGateway } from '../../nodes/PaymentGateway/PaymentGateway.node';
import { PaymentWebhookTrigger } from '../../nodes/PaymentWebhookTrigger/PaymentWebhookTrigger.node';
import { PipedriveFollowUp } from '../../nodes/PipedriveFollowUp/PipedriveFollowUp.node';
import { WebhookArchive } from '../../nodes/WebhookArchive/WebhookArchive.node';
import { REPO_ROOT } from '../../testbench/n8n';

const PACK = 'n8n-nodes-checkout-recovery';
const nodeTypes: Record<string, INodeType> = Object.fromEntries(
	[
		new CheckoutForm(),
		new CheckoutFormTrigger(),
		new CheckoutQueueTrigger(),
		new PaymentGateway(),
		new PaymentWebhookTrigger(),
		new PipedriveFollowUp(),
		new WebhookArchive(),
	].map((n) => [`${PACK}.${n.description.name}`, n]),
);

const workflows = readdirSync(join(REPO_ROOT, 'workflows')).filter((f) => f.endsWith('.json'));
const packNodes = workflows.flatMap((file) =>
	(JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as { nodes: INode[] }).nodes
		.filter((n) => n.type.startsWith(`${PACK}.`))
		.map((n) => [file, n.name, n] as const),
);

/** The issues the editor would show on this node, or null. */
export function editorIssues(node: INode): unknown {
	const type = nodeTypes[node.type];
	if (!type) return { unknownType: node.type };
	const description = type.description;
	const parameters = NodeHelpers.getNodeParameters(
		description.properties,
		node.parameters,
		true,
		false,
		node,
		description,
	);
	return NodeHelpers.getNodeParametersIssues(
		description.properties,
		{ ...node, parameters: parameters ?? {} },
		description,
	);
}

it('every exported workflow has pack nodes to check', () => {
	expect(workflows.length).toBeGreaterThanOrEqual(7);
	expect(new Set(packNodes.map(([, , n]) => n.type)).size).toBe(Object.keys(nodeTypes).length);
});

it.each(packNodes)('%s: "%s" has no parameter issue', (_file, _name, node) => {
	expect(editorIssues(node)).toBeNull();
});

it('the check finds an issue where the editor shows one (a required parameter left empty)', () => {
	const report = packNodes.find(([, , n]) => n.parameters.operation === 'checkoutReport')![2];
	expect(
		editorIssues({ ...report, parameters: { ...report.parameters, period: 'custom' } }),
	).toBeNull();
	const upsert = packNodes.find(([, , n]) => n.parameters.operation === 'upsertLead')![2];
	expect(
		editorIssues({ ...upsert, parameters: { ...upsert.parameters, email: '' } }),
	).toMatchObject({
		parameters: { email: expect.any(Array) },
	});
});

// n8n keeps a workflow's name in a varchar(128) on PostgreSQL (sqlite does not check): a longer name made
// the compose init's import fail on the first `docker compose up`.
it.each(workflows)('%s has a name PostgreSQL takes (at most 128 characters)', (file) => {
	const { name } = JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as {
		name: string;
	};
	expect(name.length).toBeLessThanOrEqual(128);
});
