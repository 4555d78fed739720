import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Topology } from '../../lib/amqp/topology';
import { REPO_ROOT } from '../../testbench/n8n';

export const EXPORTED_WORKFLOWS = join(REPO_ROOT, 'workflows');

interface WorkflowNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
}
interface Workflow {
	id: string;
	nodes: WorkflowNode[];
}

/**
 * An exported workflow as a test runs it: the same nodes and wiring, with this run's own queue names
 * (the shared broker is never touched under the production names) and, where asked, a shorter schedule.
 */
export function exportedWorkflowForTest(file: string, patch: { topology?: Topology; prefix?: string; scheduleSeconds?: number }): string {
	const wf = JSON.parse(readFileSync(join(EXPORTED_WORKFLOWS, file), 'utf8')) as Workflow;
	for (const node of wf.nodes) {
		if (node.type === 'n8n-nodes-checkout-recovery.webhookArchive') {
			if (patch.prefix) node.parameters.prefix = patch.prefix;
			if (patch.topology && node.parameters.operation === 'relay') {
				const { exchange, routingKey, queue, deadLetterExchange, deadLetterQueue } = patch.topology;
				Object.assign(node.parameters, { exchange, routingKey, queue, deadLetterExchange, deadLetterQueue });
			}
		}
		if (node.type === 'n8n-nodes-base.scheduleTrigger' && patch.scheduleSeconds) {
			node.parameters.rule = { interval: [{ field: 'seconds', secondsInterval: patch.scheduleSeconds }] };
		}
	}
	const out = join(mkdtempSync(join(tmpdir(), 'cr-wf-')), file);
	writeFileSync(out, JSON.stringify(wf));
	return out;
}
