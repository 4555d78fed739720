/**
 * The fault matrix, CI-sized (130 leads, over 500 payment events), in every test run: the whole pipeline
 * in the real n8n while S3, RabbitMQ, Pipedrive and n8n itself fail on the way; nothing lost, nothing
 * doubled. The large run is `npm run faults` (RELIABILITY.md). This one has every fault kind too.
 */
import { runFaultMatrix } from '../../testbench/faultMatrix';

jest.setTimeout(1_200_000);

it('ends every lead as one deal in the state its latest event says, under outages, lost answers, restarts, storms and SIGKILLs; only the poisoned messages are dead-lettered', async () => {
	const report = await runFaultMatrix({
		leads: Number(process.env.FAULT_LEADS ?? 130),
		seed: 7,
		timeoutMs: 900_000,
		log: (line) => process.stderr.write(`${line}\n`),
	});
	process.stderr.write(`${JSON.stringify(report)}\n`);
	expect(report.problems).toEqual([]);
	expect(report.outcome.deals).toBe(report.leads);
	expect(report.paymentEvents).toBeGreaterThanOrEqual(500);
	// Every fault kind did happen: a run without them proves nothing.
	for (const kind of [
		'S3 unreachable for 30 s at intake (senders got 5xx and retried)',
		'RabbitMQ node restarted mid-sweep (during the intake)',
		'RabbitMQ node restarted mid-consume',
		'n8n SIGKILLed mid-sweep (during the intake) and restarted',
		'n8n SIGKILLed mid-execution and restarted',
		'Pipedrive 401 spells (10 s)',
		'Pipedrive slow spells (400 ms per answer, 15 s)',
		'Pipedrive 429 storms',
		'poison messages put on the queue',
		'gateway resends',
		'RabbitMQ connection cuts',
		'S3 answers lost after the write',
	]) {
		expect({ kind, injected: (report.faults[kind] ?? 0) > 0 }).toEqual({ kind, injected: true });
	}
	expect(Object.keys(report.faults).some((k) => k.startsWith('Pipedrive lost answer'))).toBe(true);
	expect(report.outcome.deadLettered).toBe(3);
});
