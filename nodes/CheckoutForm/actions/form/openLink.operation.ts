import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { linkUnavailableAnswer } from '../../../../lib/forms/responses';
import { openLink, signLinkToken, tokenLinkValid } from '../../../../lib/links/checkoutLinks';
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
			const refuse = (reason: string) =>
				unavailable.push({
					json: {
						available: false,
						reason,
						status: neutral.status,
						contentType: neutral.contentType,
						responseBody: neutral.body,
					},
					pairedItem: { item: i },
				});
			try {
				let query: unknown;
				try {
					const rawQuery = this.getNodeParameter('query', i, {}) as unknown;
					query =
						(typeof rawQuery === 'string' ? (JSON.parse(rawQuery || '{}') as unknown) : rawQuery) ??
						{};
				} catch {
					// n8n's expression engine refuses some hostile queries (constructor[prototype]…): a link that opens nothing.
					refuse('malformed');
					continue;
				}
				const now = Date.now();
				const opened = openLink(
					typeof query === 'object' ? (query as IDataObject) : {},
					links,
					now,
				);
				if (!opened.ok) {
					refuse(opened.reason);
					continue;
				}
				const [stored, closed] = await Promise.all([
					leads.findLatestRevision(opened.leadId),
					leads.isLeadClosed(opened.leadId),
				]);
				if (!stored || stored.bodyFormat !== 'json') {
					refuse('unknown');
					continue;
				}
				if (closed) {
					refuse('paid');
					continue;
				}
				const lead = JSON.parse(stored.body.toString('utf8')) as IDataObject;
				if (
					opened.via === 'token' &&
					!tokenLinkValid(String(lead.capturedAt ?? ''), links.validDays, now)
				) {
					refuse('expired');
					continue;
				}
				const expiresAtMs =
					opened.via === 'signed'
						? opened.expiresAtMs
						: Date.parse(String(lead.capturedAt)) + links.validDays * 86_400_000;
				const url = new URL(links.payUrl);
				url.searchParams.set('lead', signLinkToken(opened.leadId, expiresAtMs, links.secret));
				open.push({
					json: {
						...lead,
						leadId: opened.leadId,
						archiveKey: stored.key,
						payLink: url.toString(),
						payLinkExpiresAt: new Date(expiresAtMs).toISOString(),
						available: true,
					},
					pairedItem: { item: i },
				});
			} catch (error) {
				open.push(itemFailure(this, error, i));
			}
		}
	} finally {
		close();
	}
	return [open, unavailable];
}
