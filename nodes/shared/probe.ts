/**
 * The probe of a paused queue (lib/amqp/consumer.ts: a lasting failure pauses it). Instead of running the
 * held message again every minute, which would save a failed execution holding the buyer's data each
 * time, the Checkout Queue Trigger starts a probe execution: an item without any message data, naming the
 * service that failed. Each pack node on its way (Confirm Event for a gateway, the Pipedrive operations)
 * answers it with one cheap call to its service, records the answer in the execution's custom data, and
 * passes the item on; the execution itself succeeds, so n8n keeps nothing of it (the shipped workflows
 * save no successful executions). The trigger reads the answers from the run (its custom data reaches the
 * main in queue mode too) and runs the held message again only once the failed service answers.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, IRun } from 'n8n-workflow';

import type { HandlerOutcome } from '../../lib/amqp/consumer';
import { failureOf, type Failure } from '../../lib/util/failure';
import { redactPersonalData } from '../../lib/util/redact';

/** The item field that makes an item a probe. */
export const PROBE_FIELD = 'checkoutProbe';
/** Custom-data keys of the answers: `checkoutProbe_{service}` (letters, digits and underscores only). */
const answerKey = (service: string) => `${PROBE_FIELD}_${service.replace(/[^A-Za-z0-9_]/g, '_')}`;

const GATEWAYS = new Set(['stripe', 'mercadopago', 'asaas']);

/** The probe item for a failure: routed by the shipped processor to the node of the failed service. */
export function probeItem(failure: Failure, messageId: string | undefined): IDataObject {
	const service = failure.service ?? 'pipedrive';
	return {
		[PROBE_FIELD]: { service },
		// A gateway's probe goes the way a claim goes (to its Confirm Event node), then on to Pipedrive.
		...(GATEWAYS.has(service) ? { confirm: { probe: true }, provider: service } : {}),
		queueMessage: { probe: true, messageId: messageId ?? null },
	};
}

/** The service a probe item asks about, or undefined for an ordinary item. */
export function probeOf(json: unknown): { service: string } | undefined {
	const probe = (json as IDataObject | undefined)?.[PROBE_FIELD] as IDataObject | undefined;
	return probe && typeof probe.service === 'string' ? { service: probe.service } : undefined;
}

/**
 * Answers a probe item with `check` (one cheap call to `service`): an answer that is not a lasting failure
 * counts as the service being back. The item passes on unchanged; nothing fails.
 */
export async function answerProbe(
	ctx: IExecuteFunctions,
	item: INodeExecutionData,
	service: string,
	check: () => Promise<unknown>,
): Promise<INodeExecutionData> {
	let answer = 'ok';
	try {
		await check();
	} catch (error) {
		const failure = failureOf(error);
		if (failure.kind === 'lasting') answer = `down: ${redactPersonalData(failure.reason)}`;
	}
	ctx.customData.set(answerKey(service), answer.slice(0, 500));
	return { json: item.json };
}

/** What a probe execution says: the failed service answers again (ok), or the queue stays paused. */
export function probeOutcome(run: IRun | undefined, failure: Failure): HandlerOutcome {
	const service = failure.service ?? 'pipedrive';
	const metadata = (run?.data.resultData.metadata ?? {}) as Record<string, string>;
	const answer = metadata[answerKey(service)];
	if (run?.data.resultData.error)
		return { ok: false, failure: { ...failureOf(run.data.resultData.error), service } };
	if (answer && answer.startsWith('down'))
		return {
			ok: false,
			failure: { kind: 'lasting', reason: answer.slice(6) || failure.reason, service },
		};
	return { ok: true };
}
