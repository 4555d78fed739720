/**
 * The fault matrix, small (a few dozen leads), in every test run: the whole pipeline in the real n8n
 * while S3, RabbitMQ, Pipedrive and n8n itself fail on the way; nothing lost, nothing doubled. The large
 * run is `npm run faults` (FAULTS.md).
 */
import { runFaultMatrix } from '../helpers/faultMatrix';

jest.setTimeout(900_000);

it('ends every lead as one deal in the state its latest event says, under lost answers, cuts, storms and a SIGKILL', async () => {
	const report = await runFaultMatrix({ leads: Number(process.env.FAULT_LEADS ?? 60), seed: 7, timeoutMs: 600_000, log: (line) => process.stderr.write(`${line}\n`) });
	process.stderr.write(`${JSON.stringify(report)}\n`);
	expect(report.problems).toEqual([]);
	expect(report.outcome.deals).toBe(report.leads);
	// The faults did happen: a run without them proves nothing.
	expect(report.faults['n8n SIGKILLed and restarted']).toBe(1);
	expect(report.faults['RabbitMQ connection cuts'] ?? 0).toBeGreaterThanOrEqual(1);
	expect(report.faults['S3 answers lost after the write']).toBeGreaterThan(0);
	expect(Object.keys(report.faults).some((k) => k.startsWith('Pipedrive lost answer'))).toBe(true);
});
