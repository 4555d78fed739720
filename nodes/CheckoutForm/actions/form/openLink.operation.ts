import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import type { LeadRegistry } from '../../../../lib/archive/leadRegistry';
import { linkUnavailableAnswer } from '../../../../lib/forms/responses';
import {
	openLink,
	signLinkToken,
	tokenLinkValid,
	type LinkSettings,
} from '../../../../lib/links/checkoutLinks';
import { CHECKOUT_LINKS_CREDENTIAL, linkSettingsFrom } from '../../../shared/checkoutLinks';
import { itemFailure } from '../../../shared/operation';
import { openNodeArchive } from '../../../shared/transport/s3';

const properties: INodeProperties[] = [
	{
		displayName:
			'Opens the lead behind a pay link (…/pay?lead=… made by this pack, or …/pay?token=… from an Elementor Redirect). Unknown, expired, forged and paid links all go to the second output with one neutral answer.',
		name: 'openLinkNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Query',
		name: 'query',
		type: 'json',
		default: '={{ $json.query }}',
		description: "The pay request's query parameters (the Webhook node's query)",
	},
	{
		displayName: 'Key Prefix',
		name: 'prefix',
		type: 'string',
		default: 'checkout',
		description: "Archive folder in the bucket where the leads are stored (the Store node's)",
	},
];

export const description = updateDisplayOptions({ show: { operation: ['openLink'] } }, properties);

/** The pay request's query; undefined when it cannot be read (a link that opens nothing). */
function readQuery(ctx: IExecuteFunctions, itemIndex: number): IDataObject | undefined {
	let query: unknown;
	try {
		const rawQuery = ctx.getNodeParameter('query', itemIndex, {}) as unknown;
		query =
			(typeof rawQuery === 'string' ? (JSON.parse(rawQuery || '{}') as unknown) : rawQuery) ?? {};
	} catch {
		// n8n's expression engine refuses some hostile queries (constructor[prototype]…): a link that opens nothing.
		return undefined;
	}
	return typeof query === 'object' ? (query as IDataObject) : {};
}

/** The lead a pay link opens, with a new pay link of the same expiry; or why it opens nothing. */
async function openPayLink(
	leads: LeadRegistry,
	links: LinkSettings,
	query: IDataObject,
	now: number,
): Promise<{ lead: IDataObject } | { refused: string }> {
	const opened = openLink(query, links, now);
	if (!opened.ok) return { refused: opened.reason };
	const [stored, closed] = await Promise.all([
		leads.findLatestRevision(opened.leadId),
		leads.isLeadClosed(opened.leadId),
	]);
	if (!stored || stored.bodyFormat !== 'json') return { refused: 'unknown' };
	if (closed) return { refused: 'paid' };
	const lead = JSON.parse(stored.body.toString('utf8')) as IDataObject;
	if (
		opened.via === 'token' &&
		!tokenLinkValid(String(lead.capturedAt ?? ''), links.validDays, now)
	)
		return { refused: 'expired' };
	const expiresAtMs =
		opened.via === 'signed'
			? opened.expiresAtMs
			: Date.parse(String(lead.capturedAt)) + links.validDays * 86_400_000;
	const url = new URL(links.payUrl);
	url.searchParams.set('lead', signLinkToken(opened.leadId, expiresAtMs, links.secret));
	return {
		lead: {
			...lead,
			leadId: opened.leadId,
			archiveKey: stored.key,
			payLink: url.toString(),
			payLinkExpiresAt: new Date(expiresAtMs).toISOString(),
			available: true,
		},
	};
}

/**
 * Two outputs: the lead (its newest revision, with a pay link of the same expiry), or the neutral answer.
 * A storage failure is an error (the error output, or the run fails): the buyer should be told to retry,
 * not that the link is gone.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	let links;
	try {
		links = linkSettingsFrom(await this.getCredentials(CHECKOUT_LINKS_CREDENTIAL));
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message);
	}
	const { leads, close } = await openNodeArchive(this);
	const open: INodeExecutionData[] = [];
	const unavailable: INodeExecutionData[] = [];
	const neutral = linkUnavailableAnswer();
	try {
		for (let i = 0; i < items.length; i++) {
			try {
				const query = readQuery(this, i);
				const answer =
					query === undefined
						? { refused: 'malformed' }
						: await openPayLink(leads, links, query, Date.now());
				if ('refused' in answer)
					unavailable.push({
						json: {
							available: false,
							reason: answer.refused,
							status: neutral.status,
							contentType: neutral.contentType,
							responseBody: neutral.body,
						},
						pairedItem: { item: i },
					});
				else open.push({ json: answer.lead, pairedItem: { item: i } });
			} catch (error) {
				open.push(itemFailure(this, error, i));
			}
		}
	} finally {
		close();
	}
	return [open, unavailable];
}
