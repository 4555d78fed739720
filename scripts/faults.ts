/**
 * The fault matrix as one repeatable run (`npm run faults`): thousands of leads and signed payment events
 * through the real n8n and the exported workflows, with S3, RabbitMQ, Pipedrive and n8n itself failing
 * on the way (testbench/faultMatrix.ts says how). Prints the report and writes it to RELIABILITY.md.
 * FAULT_LEADS (2000, about 4 payment events each) and FAULT_SEED (20261201) choose the size and the run.
 */
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../testbench/n8n';
import { runFaultMatrix, type FaultMatrixReport } from '../testbench/faultMatrix';

async function main(): Promise<void> {
	const leads = Number(process.env.FAULT_LEADS ?? 2000);
	const seed = Number(process.env.FAULT_SEED ?? 20261201);
	const report = await runFaultMatrix({
		leads,
		seed,
		log: (line) => console.log(line),
		timeoutMs: 90 * 60_000,
	});
	console.log(JSON.stringify(report, null, 2));
	writeFileSync(join(REPO_ROOT, 'RELIABILITY.md'), render(report, leads, seed));
	process.exit(report.ok ? 0 : 1);
}

export function render(report: FaultMatrixReport, leads: number, seed: number): string {
	const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
	const rows = (record: Record<string, number>) =>
		Object.entries(record)
			.map(([k, v]) => `| ${k} | ${v} |`)
			.join('\n');
	const md = `# Reliability: the fault matrix

Command: \`FAULT_LEADS=${leads} FAULT_SEED=${seed} npm run faults\` on ${machine}, ${new Date().toISOString().slice(0, 10)}.
The real n8n with the pack and the exported workflows (lead capture, fast intake, sweep every 2 s, payment
event processor, follow-up rules every 5 s); s3rver behind a proxy that emulates conditional writes, loses
answers and goes unreachable; a RabbitMQ node of the bench's own (its own port and data; the machine's
broker is never touched) behind a proxy that cuts n8n's connection, restarted mid-sweep and mid-consume;
the Pipedrive and gateway stand-ins. Each payment event is delivered up to three times, shuffled. See
\`testbench/faultMatrix.ts\`; a smaller run of the same matrix is in every test run
(\`test/e2e/fault-matrix.test.ts\`).

**Result: ${report.ok ? 'nothing lost, nothing doubled' : 'PROBLEMS FOUND'}.** ${report.leads} leads and ${report.paymentEvents} payment events (${report.leads + report.paymentEvents} in all); ${report.deliveries} requests to n8n (duplicates and retries included). Intake ${(report.timings.intakeMs / 1000).toFixed(0)} s, drain ${(report.timings.drainMs / 1000).toFixed(0)} s, total ${(report.timings.totalMs / 60_000).toFixed(1)} min. Pipedrive calls: ${report.pipedrive.calls} (${report.pipedrive.perEvent} per lead or event, retries and recovery lookups included). Peak memory of n8n (with its task runner): ${report.peakMemoryMiB} MiB.

| Fault injected | Count |
|---|---|
${rows(report.faults)}

| Outcome | Count |
|---|---|
${rows({
	...report.outcome,
	...Object.fromEntries(Object.entries(report.outcome.statuses).map(([k, v]) => [`deals ${k}`, v])),
} as unknown as Record<string, number>)
	.split('\n')
	.filter((l) => !l.startsWith('| statuses'))
	.join('\n')}

${report.problems.length ? `Problems:\n${report.problems.map((p) => `- ${p}`).join('\n')}\n` : 'Checked against an oracle computed from the events (the pure state machine): lost 0, doubled 0. One person per buyer; one deal per lead in the state its latest event says (won exactly when paid in full); one lead note per deal; one refund note per refund; at most one activity per deal and rule, done once the deal is won; nothing left pending in the archive; the dead-letter queue holds exactly the messages poisoned on purpose, each with its reason.\n'}`;
	return md;
}

if (require.main === module) {
	main().catch((error: unknown) => {
		console.error('[faults] failed:', error instanceof Error ? error.stack : error);
		process.exit(1);
	});
}
