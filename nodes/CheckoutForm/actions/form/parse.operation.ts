import {
	NodeOperationError,
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { evaluateLeadPost } from '../../../../lib/forms/capture';
import { FILE_REFUSED, rejectionAnswer } from '../../../../lib/forms/responses';
import type { LinkSettings } from '../../../../lib/links/checkoutLinks';
import { CHECKOUT_LINKS_CREDENTIAL, linkSettingsFrom } from '../../../shared/checkoutLinks';
import { leadFormProperties, readLeadFormSettings } from '../../../shared/leadForm';
import { itemFailure } from '../../../shared/operation';

export const description = updateDisplayOptions(
	{ show: { operation: ['parse'] } },
	leadFormProperties,
);

async function linkSettings(ctx: IExecuteFunctions): Promise<LinkSettings> {
	const data = await ctx.getCredentials(CHECKOUT_LINKS_CREDENTIAL);
	try {
		return linkSettingsFrom(data);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message);
	}
}

/** The form field a file came in (the Webhook node puts file parts in the item's binary data). */
function fileFieldOf(item: INodeExecutionData): string | undefined {
	return Object.keys(item.binary ?? {})[0];
}

function fileRefused(field: string, headers: Record<string, unknown>, backUrl?: string) {
	const errors = [{ field, message: FILE_REFUSED }];
	const accept = typeof headers.accept === 'string' ? headers.accept : undefined;
	return {
		kind: 'rejected' as const,
		errors,
		answer: rejectionAnswer(errors, accept, backUrl, 415),
	};
}

/** Three outputs: valid leads, rejected posts (with the answer to send), dropped bots. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const links = await linkSettings(this);
	const valid: INodeExecutionData[] = [];
	const rejected: INodeExecutionData[] = [];
	const dropped: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const json = items[i].json;
			const headers = (json.headers ?? {}) as Record<string, unknown>;
			const settings = readLeadFormSettings(this.getNode(), (name, fallback) =>
				this.getNodeParameter(name, i, fallback),
			);
			// A checkout form has no file field: a file part is refused (the Checkout Form Trigger refuses it
			// before n8n keeps it; behind a Webhook node, n8n has stored it with the execution already).
			const file = fileFieldOf(items[i]);
			const outcome = file
				? fileRefused(file, headers, settings.backUrl)
				: evaluateLeadPost(
						settings,
						{ body: json.body, query: (json.query ?? {}) as Record<string, unknown>, headers },
						links,
					);
			if (outcome.kind === 'bot') {
				dropped.push({ json: { dropped: true, honeypot: outcome.field }, pairedItem: { item: i } });
			} else if (outcome.kind === 'rejected') {
				rejected.push({
					json: {
						errors: outcome.errors.map((e) => ({ ...e })),
						status: outcome.answer.status,
						contentType: outcome.answer.contentType,
						responseBody: outcome.answer.body,
					},
					pairedItem: { item: i },
				});
			} else {
				valid.push({ json: { ...outcome.message }, pairedItem: { item: i } });
			}
		} catch (error) {
			valid.push(itemFailure(this, error, i));
		}
	}
	return [valid, rejected, dropped];
}
