import {
	NodeOperationError,
	updateDisplayOptions,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { rulesFromTable } from '../../../../lib/checkout/ruleTable';
import { RULE_TRIGGERS, type FollowUpRule } from '../../../../lib/checkout/rules';
import { payLinkFor } from '../../../../lib/links/checkoutLinks';
import { runRules } from '../../../../lib/pipedrive/operations';
import { optionalLinkSettings } from '../../../shared/checkoutLinks';
import { runOnce } from '../../../shared/operation';
import { pipedriveClientFor } from '../../transport';

const WEEKDAYS = [
	{ name: 'Monday', value: 1 },
	{ name: 'Tuesday', value: 2 },
	{ name: 'Wednesday', value: 3 },
	{ name: 'Thursday', value: 4 },
	{ name: 'Friday', value: 5 },
	{ name: 'Saturday', value: 6 },
	{ name: 'Sunday', value: 7 },
];

const properties: INodeProperties[] = [
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
		displayName: 'Rules',
		name: 'rules',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Rule',
		default: {},
		description: 'Each rule creates at most one activity per deal; a paid deal gets none',
		options: [
			{
				displayName: 'Rule',
				name: 'rule',
				// A rule reads top to bottom as a sentence (name, when, after how long, what, who, when due), not alphabetically.
				// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						required: true,
						placeholder: 'Abandoned after 1 hour',
						description: 'Unique: the deal remembers the rules that fired by name',
					},
					{
						displayName: 'When',
						name: 'when',
						type: 'options',
						default: 'abandoned',
						options: RULE_TRIGGERS.map(({ name, value }) => ({ name, value })),
					},
					{
						displayName: 'After',
						name: 'after',
						type: 'number',
						default: 1,
						typeOptions: { minValue: 0 },
						description: 'How long the deal has been in that state',
					},
					{
						displayName: 'Unit',
						name: 'afterUnit',
						type: 'options',
						default: 'hours',
						options: [
							{ name: 'Minutes', value: 'minutes' },
							{ name: 'Hours', value: 'hours' },
							{ name: 'Days', value: 'days' },
						],
					},
					{
						displayName: 'Activity Type Name or ID',
						name: 'activityType',
						type: 'options',
						typeOptions: { loadOptionsMethod: 'getActivityTypes' },
						default: 'call',
						description:
							'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
					},
					{
						displayName: 'Subject',
						name: 'subject',
						type: 'string',
						default: 'Call {{name}} about {{product}}',
						description:
							'Replaced: {{name}}, {{product}}, {{amount}}, {{paymentLink}} (renewed when the node has a Checkout Links credential), {{leadId}}',
					},
					{
						displayName: 'Note',
						name: 'note',
						type: 'string',
						typeOptions: { rows: 3 },
						default: '',
						description: 'Same placeholders as the subject',
					},
					{
						displayName: 'Due In (Days)',
						name: 'dueInDays',
						type: 'number',
						default: 0,
						typeOptions: { minValue: 0 },
					},
					{
						displayName: 'Due At (HH:MM)',
						name: 'dueTime',
						type: 'string',
						default: '10:00',
						description: "In the business hours' time zone (UTC without business hours)",
					},
					{
						displayName: 'Owner',
						name: 'owner',
						type: 'options',
						default: 'dealOwner',
						options: [
							{ name: 'Deal Owner', value: 'dealOwner' },
							{ name: 'A Chosen User', value: 'user' },
							{ name: 'Round Robin', value: 'roundRobin' },
						],
					},
					{
						displayName: 'User Name or ID',
						name: 'userId',
						type: 'options',
						typeOptions: { loadOptionsMethod: 'getChosenUsers' },
						default: '',
						description:
							'For "A Chosen User". Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Round Robin User Names or IDs',
						name: 'roundRobinUserIds',
						type: 'multiOptions',
						typeOptions: { loadOptionsMethod: 'getUsers' },
						default: [],
						description:
							'For "Round Robin": activities go to these users in turn. Choose from the list, or specify IDs using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
					},
					{
						displayName: 'Only in Business Hours',
						name: 'useBusinessHours',
						type: 'boolean',
						default: true,
						description: 'Whether a due time outside business hours moves to the next open slot',
					},
					{
						displayName: 'Time Zone',
						name: 'timeZone',
						type: 'string',
						default: 'America/Sao_Paulo',
						description: 'IANA name, e.g. America/Sao_Paulo, Europe/Lisbon',
					},
					{
						displayName: 'Open Days',
						name: 'days',
						type: 'multiOptions',
						options: WEEKDAYS,
						default: [1, 2, 3, 4, 5],
					},
					{ displayName: 'Opens At (HH:MM)', name: 'opens', type: 'string', default: '09:00' },
					{ displayName: 'Closes At (HH:MM)', name: 'closes', type: 'string', default: '18:00' },
				],
			},
		],
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description: 'Whether to only list the activities the rules would create',
			},
			{
				displayName: 'Locale for Amounts',
				name: 'locale',
				type: 'string',
				default: 'pt-BR',
				description: 'How {{amount}} is written, e.g. pt-BR gives R$ 197,90',
			},
		],
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['runFollowUpRules'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const rows =
		((this.getNodeParameter('rules', 0, {}) as IDataObject).rule as IDataObject[] | undefined) ??
		[];
	let rules: FollowUpRule[];
	try {
		rules = rulesFromTable(rows);
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message, {
			description: 'Fix the rules table of this node',
		});
	}
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	const pipelineId = Number(this.getNodeParameter('pipelineId', 0, '')) || undefined;
	// Round robin continues where the last run stopped (kept with the shared rules run, or in static data).
	const staticData = this.getWorkflowStaticData('node');
	const links = await optionalLinkSettings(this);
	return [
		await runOnce(this, async () => {
			const { client, account, shared } = await pipedriveClientFor(this);
			const result = await runRules(client, account, rules, {
				pipelineId,
				...(links ? { renewLink: (leadId: string) => payLinkFor(leadId, links).url } : {}),
				shared,
				// Shared across processes, the counter lives with the rules run; else in this workflow's static data.
				roundRobinStart: shared.sharedAcrossProcesses
					? undefined
					: Number(staticData.roundRobin ?? 0),
				locale: (options.locale as string) || 'pt-BR',
				dryRun: options.dryRun === true,
			});
			if (!options.dryRun) staticData.roundRobin = result.nextRoundRobin;
			if (result.errors.length) {
				throw new NodeOperationError(
					this.getNode(),
					`${result.errors.length} follow-up activities could not be created (the rules stay unfired on those deals and run again next time)`,
					{
						description: result.errors
							.map((e) => `deal ${e.dealId}, rule "${e.rule}": ${e.message}`)
							.join('\n'),
					},
				);
			}
			return [
				{
					json: {
						dealsChecked: result.dealsChecked,
						activitiesCreated: result.created.length,
						activities: (options.dryRun
							? result.planned
							: result.created) as unknown as IDataObject[],
						skipped: result.skipped as unknown as IDataObject[],
						dryRun: options.dryRun === true,
						pipedriveCalls: client.callCount,
					},
				},
			];
		}),
	];
}
