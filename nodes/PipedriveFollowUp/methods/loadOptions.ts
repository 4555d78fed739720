/** Dropdowns loaded from the Pipedrive account: pipelines, stages of the chosen pipeline, users, activity types. */
import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';

import { pipedriveClientFor } from '../transport';

const byName = (a: INodePropertyOptions, b: INodePropertyOptions) => a.name.localeCompare(b.name);

export async function getPipelines(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	return (await client.pipelines())
		.filter((p) => p.is_deleted !== true)
		.map((p) => ({ name: p.name, value: p.id }));
}

export async function getStages(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	const pipelineId = Number(this.getCurrentNodeParameter('pipelineId')) || undefined;
	const pipelines = new Map((await client.pipelines()).map((p) => [p.id, p.name]));
	return (await client.stages(pipelineId))
		.filter((s) => s.is_deleted !== true)
		.map((s) => ({
			name: pipelineId ? s.name : `${pipelines.get(s.pipeline_id) ?? s.pipeline_id} → ${s.name}`,
			value: s.id,
		}));
}

export async function getUsers(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	return (await client.users())
		.filter((u) => u.active_flag !== false)
		.map((u) => ({ name: u.name, value: u.id, description: u.email }))
		.sort(byName);
}

export async function getActivityTypes(
	this: ILoadOptionsFunctions,
): Promise<INodePropertyOptions[]> {
	const { client } = await pipedriveClientFor(this);
	return (await client.activityTypes())
		.filter((t) => t.active_flag !== false)
		.map((t) => ({ name: t.name, value: t.key_string }));
}
