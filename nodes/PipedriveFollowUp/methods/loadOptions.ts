/** Dropdowns loaded from the Pipedrive account: pipelines, stages of the chosen pipeline, users, activity types. */
import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { pipedriveClientFor } from '../transport';

const byName = (a: INodePropertyOptions, b: INodePropertyOptions) => a.name.localeCompare(b.name);

/*
 * Each list starts with the choice an empty value stands for: the editor flags a value that is not in
 * the list, so without it a valid workflow (no pipeline chosen) showed a red warning on the parameter.
 */

async function pipelineOptions(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(ctx);
	return (await client.pipelines())
		.filter((p) => p.is_deleted !== true)
		.map((p) => ({ name: p.name, value: p.id }));
}

/** For the rules and the report: empty means every pipeline. */
export async function getPipelines(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	return [{ name: 'All Pipelines', value: '' }, ...(await pipelineOptions(this))];
}

/** For new deals: empty means the account's default pipeline. */
export async function getPipelinesForNewDeals(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	return [{ name: "The Account's Default Pipeline", value: '' }, ...(await pipelineOptions(this))];
}

export async function getStages(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	const pipelineId = Number(this.getCurrentNodeParameter('pipelineId')) || undefined;
	const pipelines = new Map((await client.pipelines()).map((p) => [p.id, p.name]));
	return [
		{ name: "The Pipeline's First Stage", value: '' },
		...(await client.stages(pipelineId))
			.filter((s) => s.is_deleted !== true)
			.map((s) => ({
				name: pipelineId ? s.name : `${pipelines.get(s.pipeline_id) ?? s.pipeline_id} → ${s.name}`,
				value: s.id,
			})),
	];
}

async function userOptions(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(ctx);
	return (await client.users())
		.filter((u) => u.active_flag !== false)
		.map((u) => ({ name: u.name, value: u.id, description: u.email }))
		.sort(byName);
}

/** The users alone (round robin picks several). */
export async function getUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	return await userOptions(this);
}

/** For the owner of new persons and deals: empty means the credential's user. */
export async function getOwnersOfNewDeals(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	return [{ name: "The Credential's User", value: '' }, ...(await userOptions(this))];
}

/** For a rule's chosen user: empty while the rule's owner is not "A Chosen User". */
export async function getChosenUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	return [
		{ name: 'None (Only Used With "A Chosen User")', value: '' },
		...(await userOptions(this)),
	];
}

export async function getActivityTypes(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	return (await client.activityTypes())
		.filter((t) => t.active_flag !== false)
		.map((t) => ({ name: t.name, value: t.key_string }));
}
