import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { periodRange, summaryText, type ReportPeriod } from '../../../../lib/checkout/report';
import {
	renderReportHtml,
	renderReportLinkUnavailableHtml,
	renderReportUnavailableHtml,
} from '../../../../lib/checkout/reportHtml';
import { openReportLink, reportLinkFor } from '../../../../lib/links/checkoutLinks';
import { checkoutReport } from '../../../../lib/pipedrive/operations';
import { optionalLinkSettings } from '../../../shared/checkoutLinks';
import { runOnce } from '../../../shared/operation';
import { pipedriveClientFor } from '../../transport';

const properties: INodeProperties[] = [
	{
		displayName:
			'Counts the checkout deals whose lead was captured in the period: paid without help, recovered (paid after a follow-up), abandoned, failed, expired, revenue recovered and the median time to pay, in all and by UTM source and product. One listing of the deals updated since the period began (10 Pipedrive tokens per 500 deals), no call per deal.',
		name: 'reportNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Period',
		name: 'period',
		type: 'options',
		default: 'last7Days',
		options: [
			{ name: 'Custom', value: 'custom' },
			{ name: 'Last 30 Days', value: 'last30Days' },
			{ name: 'Last 7 Days', value: 'last7Days' },
			{ name: 'Last Month', value: 'lastMonth' },
			{ name: 'This Month', value: 'thisMonth' },
		],
		description: 'Leads captured in this period (UTC)',
	},
	{
		displayName: 'From',
		name: 'from',
		type: 'dateTime',
		default: '',
		// Not "required": with the period set by an expression, n8n would flag an empty From as an issue and
		// refuse to run the workflow. A custom period without it is refused when the node runs.
		description: 'Needed for a custom period',
		displayOptions: { show: { period: ['custom'] } },
	},
	{
		displayName: 'To',
		name: 'to',
		type: 'dateTime',
		default: '',
		description: 'Empty for now',
		displayOptions: { show: { period: ['custom'] } },
	},
	{
		displayName: 'Pipeline Name or ID',
		name: 'pipelineId',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getPipelines' },
		default: '',
		description:
			'Only deals of this pipeline; empty for all. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
	},
	{
		displayName: 'Signed Link Only',
		name: 'requireSignedLink',
		type: 'boolean',
		default: false,
		description:
			"Whether the report is made only for a request with a valid signed report link (the report page's webhook): without one the node answers 404 and calls nothing. Needs the Checkout Links credential, which also gives every report a link (reportLink) for the weekly summary.",
	},
	{
		displayName: 'Request Query',
		name: 'linkQuery',
		type: 'json',
		default: '={{ $json.query }}',
		description: "The webhook request's query, which carries the signed link",
		displayOptions: { show: { requireSignedLink: [true] } },
	},
	{
		displayName: 'Options',
		name: 'reportOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Include HTML Page',
				name: 'includeHtml',
				type: 'boolean',
				default: false,
				description:
					'Whether to add the report as a self-contained HTML page with a chart (in "html"), for a Respond to Webhook node',
			},
			{
				displayName: 'Locale for Amounts',
				name: 'locale',
				type: 'string',
				default: 'pt-BR',
				description: 'How amounts are written, e.g. pt-BR gives R$ 197,90',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['checkoutReport'] } },
	properties,
);

/** The request's query as an object (n8n hands a json parameter over as text or as an object). */
function queryOf(raw: unknown): Record<string, unknown> {
	try {
		const value = typeof raw === 'string' ? (JSON.parse(raw || '{}') as unknown) : raw;
		return value && typeof value === 'object' && !Array.isArray(value)
			? (value as Record<string, unknown>)
			: {};
	} catch {
		return {};
	}
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const links = await optionalLinkSettings(this);
	if (this.getNodeParameter('requireSignedLink', 0, false) === true) {
		if (!links)
			throw new NodeOperationError(
				this.getNode(),
				'Signed Link Only needs the Checkout Links credential on this node: it checks the link',
			);
		const opened = openReportLink(queryOf(this.getNodeParameter('linkQuery', 0, {})), links);
		if (!opened.ok) {
			this.logger.info(`Report page: link refused (${opened.reason})`);
			return [
				[{ json: { statusCode: 404, html: renderReportLinkUnavailableHtml(), pipedriveCalls: 0 } }],
			];
		}
	}
	const reportLink = links ? reportLinkFor(links) : undefined;
	const period = this.getNodeParameter('period', 0, 'last7Days') as ReportPeriod;
	const options = this.getNodeParameter('reportOptions', 0, {}) as IDataObject;
	const locale = (options.locale as string) || 'pt-BR';
	let range: { from: Date; to: Date };
	try {
		range = periodRange(period, new Date(), {
			from: period === 'custom' ? String(this.getNodeParameter('from', 0, '')) : undefined,
			to: period === 'custom' ? String(this.getNodeParameter('to', 0, '')) || undefined : undefined,
		});
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message);
	}
	const pipelineId = Number(this.getNodeParameter('pipelineId', 0, '')) || undefined;
	return [
		await runOnce(this, async () => {
			let made: Awaited<ReturnType<typeof checkoutReport>>;
			let pipedriveCalls = 0;
			try {
				const { client, account } = await pipedriveClientFor(this);
				try {
					made = await checkoutReport(client, account, { period: range, pipelineId });
				} finally {
					pipedriveCalls = client.callCount;
				}
			} catch (error) {
				// The page says what is missing (503); the weekly summary fails as before, so an error
				// workflow sees it.
				if (!options.includeHtml) throw error;
				const reason = error instanceof Error ? error.message : String(error);
				return [
					{
						json: {
							error: reason,
							statusCode: 503,
							html: renderReportUnavailableHtml(reason),
							pipedriveCalls,
						},
					},
				];
			}
			const { report, dealsListed } = made;
			return [
				{
					json: {
						...(report as unknown as IDataObject),
						statusCode: 200,
						summary: summaryText(report, locale),
						...(reportLink
							? { reportLink: reportLink.url, reportLinkExpiresAt: reportLink.expiresAt }
							: {}),
						...(options.includeHtml ? { html: renderReportHtml(report, locale) } : {}),
						dealsListed,
						pipedriveCalls,
					},
				},
			];
		}),
	];
}
