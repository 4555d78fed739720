import { NodeApiError, NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

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
			if (ctx.continueOnFail()) {
				out.push({ json: { error: (error as Error).message }, pairedItem: { item: i } });
				continue;
			}
			// n8n's own error types pass as they are (a NodeApiError keeps its HTTP details).
			throw error instanceof NodeOperationError || error instanceof NodeApiError ? error : new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: i });
		}
	}
	return out;
}

/**
 * The "Event" parameter of the operations that take a normalised payment event (`={{ $json }}` by
 * default): an object as n8n hands it over, or JSON text when typed in. Each operation checks the shape it needs.
 */
export function eventParameter(ctx: IExecuteFunctions, itemIndex: number): unknown {
	const raw = ctx.getNodeParameter('event', itemIndex) as unknown;
	return typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
}
