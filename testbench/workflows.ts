import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Topology } from '../lib/amqp/topology';
import { REPO_ROOT } from './n8n';

export const EXPORTED_WORKFLOWS = join(REPO_ROOT, 'workflows');

interface WorkflowNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
}
interface Workflow {
	id: string;
	nodes: WorkflowNode[];
	settings?: Record<string, unknown>;
}

/**
 * An exported workflow as a test runs it: the same nodes and wiring, with this run's own queue names
 * (the shared broker is never touched under the production names) and, where asked, a shorter schedule
 * or retry delay.
 */
export function exportedWorkflowForTest(
	file: string,
	patch: {
		topology?: Topology;
		prefix?: string;
		scheduleSeconds?: number;
		notificationUrl?: string;
		retryDelaySeconds?: number;
		pauseProbeSeconds?: number;
		/** The queue trigger's guard: an execution not reported ended after this long counts as failed. */
		executionTimeoutSeconds?: number;
		keepSuccessfulExecutions?: boolean;
		/** Per-lead partitions of the sweep's relay and the processor's trigger. */
		partitions?: number;
	},
): string {
	const wf = JSON.parse(readFileSync(join(EXPORTED_WORKFLOWS, file), 'utf8')) as Workflow;
	for (const node of wf.nodes) {
		if (
			(node.type === 'n8n-nodes-checkout-recovery.paymentWebhookTrigger' ||
				node.type === 'n8n-nodes-checkout-recovery.checkoutFormTrigger') &&
			patch.prefix
		)
			node.parameters.prefix = patch.prefix;
		if (
			node.type === 'n8n-nodes-checkout-recovery.checkoutForm' &&
			node.parameters.operation === 'openLink' &&
			patch.prefix
		)
			node.parameters.prefix = patch.prefix;
		// The state the Pipedrive operations share lives beside this run's archive.
		if (
			node.type === 'n8n-nodes-checkout-recovery.pipedriveFollowUp' &&
			patch.prefix &&
			node.parameters.sharedStatePrefix !== undefined
		)
			node.parameters.sharedStatePrefix = patch.prefix;
		if (node.type === 'n8n-nodes-checkout-recovery.paymentGateway' && patch.notificationUrl)
			node.parameters.notificationUrl = patch.notificationUrl;
		if (node.type === 'n8n-nodes-checkout-recovery.webhookArchive') {
			if (patch.prefix) node.parameters.prefix = patch.prefix;
			if (patch.partitions && node.parameters.operation === 'relay')
				node.parameters.partitions = patch.partitions;
			if (patch.topology && node.parameters.operation === 'relay') {
				const { exchange, routingKey, queue, deadLetterExchange, deadLetterQueue } = patch.topology;
				Object.assign(node.parameters, {
					exchange,
					routingKey,
					queue,
					deadLetterExchange,
					deadLetterQueue,
				});
			}
		}
		if (node.type === 'n8n-nodes-checkout-recovery.checkoutQueueTrigger') {
			if (patch.partitions) node.parameters.partitions = patch.partitions;
			if (patch.topology) {
				const { exchange, routingKey, queue, deadLetterExchange, deadLetterQueue } = patch.topology;
				Object.assign(node.parameters, {
					exchange,
					routingKey,
					queue,
					deadLetterExchange,
					deadLetterQueue,
				});
			}
			if (patch.retryDelaySeconds !== undefined)
				node.parameters.retryDelaySeconds = patch.retryDelaySeconds;
			if (patch.pauseProbeSeconds !== undefined)
				node.parameters.pauseProbeSeconds = patch.pauseProbeSeconds;
			if (patch.executionTimeoutSeconds !== undefined)
				node.parameters.executionTimeoutSeconds = patch.executionTimeoutSeconds;
		}
		// The retention schedule (daily Purge) keeps its rhythm: only the sweep and the rules run faster.
		if (
			node.type === 'n8n-nodes-base.scheduleTrigger' &&
			patch.scheduleSeconds &&
			!/retention/i.test(node.name)
		) {
			node.parameters.rule = {
				interval: [{ field: 'seconds', secondsInterval: patch.scheduleSeconds }],
			};
		}
	}
	// The shipped workflows keep no data of successful executions (the buyer's data); a test that counts
	// executions asks for them.
	if (patch.keepSuccessfulExecutions)
		wf.settings = { ...wf.settings, saveDataSuccessExecution: 'all' };
	const out = join(mkdtempSync(join(tmpdir(), 'cr-wf-')), file);
	writeFileSync(out, JSON.stringify(wf));
	return out;
}

/**
 * The exported follow-up rules on a schedule of `scheduleSeconds`, with "Payment failed" firing at once
 * (no wait, no business hours), so that a test sees its activities made (and closed on payment).
 */
export function rulesWorkflowFailedAtOnce(scheduleSeconds: number): string {
	const file = exportedWorkflowForTest('followup-rules.json', { scheduleSeconds });
	const wf = JSON.parse(readFileSync(file, 'utf8')) as {
		nodes: Array<{ parameters: { rules?: { rule: Array<Record<string, unknown>> } } }>;
	};
	for (const node of wf.nodes)
		for (const rule of node.parameters.rules?.rule ?? [])
			if (rule.when === 'failed')
				Object.assign(rule, { after: 0, afterUnit: 'minutes', useBusinessHours: false });
	writeFileSync(file, JSON.stringify(wf));
	return file;
}

/** A test workflow "Webhook (POST {path}) → {node} → Respond with its first item", written to a temp file. */
export function webhookThroughNode(
	id: string,
	path: string,
	node: {
		type: string;
		parameters: Record<string, unknown>;
		credentials?: Record<string, { id: string; name: string }>;
	},
): string {
	const wf = {
		id,
		name: `[test] ${path}`,
		nodes: [
			{
				parameters: { httpMethod: 'POST', path, responseMode: 'responseNode', options: {} },
				id: `${id}-w`,
				name: 'Webhook',
				type: 'n8n-nodes-base.webhook',
				typeVersion: 2,
				position: [0, 0],
				webhookId: `${id}-hook`,
			},
			{ ...node, id: `${id}-n`, name: 'Node', typeVersion: 1, position: [220, 0] },
			{
				parameters: { respondWith: 'firstIncomingItem', options: {} },
				id: `${id}-r`,
				name: 'Respond',
				type: 'n8n-nodes-base.respondToWebhook',
				typeVersion: 1.1,
				position: [440, 0],
			},
		],
		connections: {
			Webhook: { main: [[{ node: 'Node', type: 'main', index: 0 }]] },
			Node: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
		active: false,
	};
	const out = join(mkdtempSync(join(tmpdir(), 'cr-wf-')), `${id}.json`);
	writeFileSync(out, JSON.stringify(wf));
	return out;
}

/**
 * The shipped fast lead capture at `path` with "Start an Execution per Lead" on and successful executions
 * kept, as a second workflow beside the shipped one (its own id and webhook id).
 */
export function fastLeadCaptureWithExecutions(path: string, prefix: string): string {
	const file = exportedWorkflowForTest('checkout-lead-capture-fast.json', {
		prefix,
		keepSuccessfulExecutions: true,
	});
	const wf = JSON.parse(readFileSync(file, 'utf8')) as Workflow & {
		nodes: Array<WorkflowNode & { webhookId?: string }>;
	};
	wf.id = 'crLeadCaptureExe';
	for (const node of wf.nodes) {
		node.parameters.path = path;
		node.parameters.startExecution = true;
		node.webhookId = '3a7f0e52-1111-4c6e-9f00-0000000000f2';
	}
	writeFileSync(file, JSON.stringify(wf));
	return file;
}
