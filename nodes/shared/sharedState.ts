/**
 * The store of the state every n8n process of an install shares (lib/shared, lib/pipedrive/shared.ts),
 * for a node that has the Checkout Archive S3 credential: objects under `{Shared State Prefix}/shared/`
 * in the archive's bucket, written with conditional writes. Without the credential, or on a store that
 * ignores conditional writes (found out once per process and store, then logged), the node keeps that
 * state in this process's memory: correct for one n8n process only (docs/scaling.md).
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { conditionalWritesHonoured, probeConditionalWrites } from '../../lib/s3/conditional';
import { S3ConditionalStore, type ConditionalStore } from '../../lib/shared/store';
import { cachedArchive, S3_CREDENTIAL, s3SettingsFromCredential, storeIdOf } from './transport/s3';

/** The parameter naming the archive prefix the shared state lives under (shown with the S3 credential). */
export const sharedPrefixProperty: INodeProperties = {
	displayName: 'Shared State Key Prefix',
	name: 'sharedStatePrefix',
	type: 'string',
	default: 'checkout',
	description:
		"With a Checkout Archive S3 credential on this node, the state every n8n process shares (the lead → deal map, claims, the rules run, the search budget) is kept under {prefix}/shared/ in the archive's bucket; without one, in this n8n process only",
};

const stores = new Map<string, Promise<ConditionalStore | undefined>>();

/** The shared store of the executing node, or undefined for this process's own memory. */
export async function nodeSharedStore(
	ctx: IExecuteFunctions,
): Promise<ConditionalStore | undefined> {
	if (!ctx.getNode().credentials?.[S3_CREDENTIAL]) return undefined;
	const settings = s3SettingsFromCredential(await ctx.getCredentials(S3_CREDENTIAL));
	const prefix = String(ctx.getNodeParameter('sharedStatePrefix', 0, 'checkout') ?? 'checkout');
	const id = JSON.stringify([settings, prefix]);
	let store = stores.get(id);
	if (!store) {
		store = (async () => {
			const { archive } = cachedArchive(settings, prefix);
			const root = archive.prefix ? `${archive.prefix}/shared/` : 'shared/';
			const honoured = await conditionalWritesHonoured(
				storeIdOf(settings),
				async () => await probeConditionalWrites(archive.s3, archive.bucket, root),
			);
			if (!honoured) {
				ctx.logger.warn(
					`The S3 store of bucket "${settings.bucket}" ignores conditional writes: the pack keeps its shared state in this n8n process only. Run one n8n process with this store, or use one that honours them (AWS S3, MinIO).`,
				);
				return undefined;
			}
			return new S3ConditionalStore(archive.s3, archive.bucket, root, () => archive.encryption());
		})();
		stores.set(id, store);
		store.catch(() => stores.delete(id));
	}
	return await store;
}
