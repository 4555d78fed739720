/**
 * The one contract of every node operation in the pack, as n8n's own v2 nodes have it: a module with the
 * operation's `description` (its parameters) and `execute` (all of the node's outputs), dispatched by one
 * typed router per node. `perItem` and `runOnce` give every operation the same behaviour on errors
 * ("continue on fail", the error output) and the same paired items.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type IPairedItemData,
} from 'n8n-workflow';

import { failureKindOf, failureServiceOf } from '../../lib/util/failure';
import { isN8nNodeError, withFailureKind } from './errors';

export interface NodeOperation {
	description: INodeProperties[];
	/** One array of items per output of the node for this operation. */
	execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]>;
}

/**
 * Runs the operation the node's "Operation" parameter names. `operations` is typed by the node's router
 * (`satisfies Record<TheNodesOperation, NodeOperation>`), so an operation offered in the description
 * without a module, or the other way round, does not compile.
 */
export async function dispatch(
	ctx: IExecuteFunctions,
	operations: Record<string, NodeOperation>,
): Promise<INodeExecutionData[][]> {
	const operation = ctx.getNodeParameter('operation', 0) as string;
	if (!Object.prototype.hasOwnProperty.call(operations, operation)) {
		throw new NodeOperationError(ctx.getNode(), `The operation "${operation}" is not supported`);
	}
	return await operations[operation].execute.call(ctx);
}

/**
 * n8n's own error types pass as they are (a NodeApiError keeps its HTTP details); others get the item
 * index. Either way the failure kind the error was made with (lib/util/failure.ts) goes into the n8n
 * error's context, where the Checkout Queue Trigger reads it.
 */
function asNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex?: number): Error {
	if (isN8nNodeError(error)) return withFailureKind(error);
	return withFailureKind(
		new NodeOperationError(
			ctx.getNode(),
			error as Error,
			itemIndex === undefined ? {} : { itemIndex },
		),
		failureKindOf(error),
		failureServiceOf(error),
	);
}

function errorJson(error: unknown): IDataObject {
	return { error: error instanceof Error ? error.message : String(error) };
}

/**
 * Runs an operation per input item. With "continue on fail" (including "continue using error output"),
 * a failing item becomes `{ error }`, which n8n routes to the error output; otherwise the run fails
 * with the item's index.
 */
export async function perItem(
	ctx: IExecuteFunctions,
	run: (itemIndex: number) => Promise<INodeExecutionData>,
): Promise<INodeExecutionData[]> {
	const out: INodeExecutionData[] = [];
	const count = ctx.getInputData().length;
	for (let i = 0; i < count; i++) {
		try {
			out.push({ pairedItem: { item: i }, ...(await run(i)) });
		} catch (error) {
			out.push(itemFailure(ctx, error, i));
		}
	}
	return out;
}

/**
 * For operations that loop over their items themselves (those with several outputs): with "continue on
 * fail", the error item of a failed item (on the first output, where n8n looks for it); otherwise the
 * error to fail the run with.
 */
export function itemFailure(
	ctx: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): INodeExecutionData {
	if (!ctx.continueOnFail()) throw asNodeError(ctx, error, itemIndex);
	return { json: errorJson(error), pairedItem: { item: itemIndex } };
}

/**
 * Runs an operation once for the whole input (a relay run, a listing, a purge): its items are paired with
 * every input item, since each of them started it. With "continue on fail" a failure is one `{ error }`
 * item, the shape n8n moves to the error output; otherwise the run fails, with what `details` adds (such
 * as a relay's partial report) as the error's description.
 */
export async function runOnce(
	ctx: IExecuteFunctions,
	run: () => Promise<INodeExecutionData[]>,
	details?: (error: unknown) => IDataObject | undefined,
): Promise<INodeExecutionData[]> {
	const count = Math.max(1, ctx.getInputData().length);
	const pairedItem: IPairedItemData[] = Array.from({ length: count }, (_, item) => ({ item }));
	try {
		return (await run()).map((item) => ({ ...item, pairedItem }));
	} catch (error) {
		if (ctx.continueOnFail()) return [{ json: errorJson(error), pairedItem }];
		if (isN8nNodeError(error)) throw withFailureKind(error);
		const extra = details?.(error);
		throw withFailureKind(
			new NodeOperationError(
				ctx.getNode(),
				error as Error,
				extra ? { description: JSON.stringify(extra) } : {},
			),
			failureKindOf(error),
			failureServiceOf(error),
		);
	}
}

/** The "Event" parameter, read by `eventParameter`; `description` says what the operation does with it. */
export function eventProperty(description: string): INodeProperties {
	return {
		displayName: 'Event',
		name: 'event',
		type: 'json',
		default: '={{ $json }}',
		required: true,
		description,
	};
}

/**
 * The "Event" parameter of the operations that take a normalised payment event (`={{ $json }}` by
 * default): an object as n8n hands it over, or JSON text when typed in. Each operation checks the shape it needs.
 */
export function eventParameter(ctx: IExecuteFunctions, itemIndex: number): unknown {
	const raw = ctx.getNodeParameter('event', itemIndex) as unknown;
	return typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
}
