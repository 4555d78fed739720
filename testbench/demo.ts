/**
 * The exported workflows as the local pipeline (npm start) runs them: the shop's return pages point at the
 * local shop instead of loja.example, and under the demo clock (CHECKOUT_DEMO_CLOCK=1) the follow-up rules
 * run every 30 seconds with a day of theirs lasting a minute, so that a shop owner sees the activities
 * of an abandoned or refused checkout within minutes. Only the local copies change: the shipped files
 * keep the shop's real timings.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export const SHIPPED_SHOP_ORIGIN = 'https://loja.example';

interface WorkflowNode {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
}

interface RuleRow extends Record<string, unknown> {
	after?: number;
	afterUnit?: 'minutes' | 'hours' | 'days';
}

/** A rule's wait under the demo clock, in minutes: a day of the rules lasts a minute, and none waits less than one. */
export function demoWait(after: number, unit: RuleRow['afterUnit']): number {
	const minutes = unit === 'days' ? after * 1440 : unit === 'hours' ? after * 60 : after;
	return Math.max(1, Math.ceil(minutes / 1440));
}

export function localWorkflow(
	workflow: { nodes: WorkflowNode[] } & Record<string, unknown>,
	options: { shopOrigin: string; demoClock: boolean },
): typeof workflow {
	const text = JSON.stringify(workflow).split(SHIPPED_SHOP_ORIGIN).join(options.shopOrigin);
	const local = JSON.parse(text) as typeof workflow;
	if (!options.demoClock) return local;
	for (const node of local.nodes) {
		if (node.type !== 'n8n-nodes-checkout-recovery.pipedriveFollowUp') continue;
		const rules = (node.parameters.rules as { rule?: RuleRow[] } | undefined)?.rule;
		if (!rules) continue;
		for (const rule of rules) {
			rule.after = demoWait(Number(rule.after ?? 1), rule.afterUnit ?? 'hours');
			rule.afterUnit = 'minutes';
			// At night the due time would move to the next morning: the demo shows it at once.
			rule.useBusinessHours = false;
		}
		// The schedule that feeds these rules runs every 30 s.
		for (const trigger of local.nodes)
			if (trigger.type === 'n8n-nodes-base.scheduleTrigger' && !/retention/i.test(trigger.name))
				trigger.parameters.rule = { interval: [{ field: 'seconds', secondsInterval: 30 }] };
	}
	return local;
}

/** Writes the local copies of the workflow files into `dir` and returns their paths. */
export function writeLocalWorkflows(
	files: string[],
	dir: string,
	options: { shopOrigin: string; demoClock: boolean },
): string[] {
	mkdirSync(dir, { recursive: true });
	return files.map((file) => {
		const out = join(dir, basename(file));
		const workflow = JSON.parse(readFileSync(file, 'utf8')) as Parameters<typeof localWorkflow>[0];
		writeFileSync(out, JSON.stringify(localWorkflow(workflow, options), null, 2));
		return out;
	});
}
