/** Setup: the deal fields the pack keeps the checkout state in, created where missing. */
import type { PipedriveClient } from '../client';
import { CHECKOUT_FIELDS, fieldKeysOf, resolveFields, type FieldKeys } from '../fields';
import { survivorOf } from '../markers';
import { processLocalShared, type PipedriveShared } from '../shared';
import { FIELD_KEYS_TTL_MS, fieldKeyCache } from './caches';

export interface SetupResult {
	fields: Array<{ name: string; key: string; type: string; created: boolean }>;
	statusOptions: FieldKeys['statusOptions'];
}

/**
 * Creates the missing deal fields; a second run finds them all and changes nothing. One Setup at a time
 * per account, across every n8n process that shares the state (lib/pipedrive/shared.ts): a Setup that
 * waited for another finds the fields made. Where processes do not share it, the fields two Setups made at
 * once are reconciled after the create (createMissingFields).
 */
export async function setupFields(
	client: PipedriveClient,
	account: string,
	shared: PipedriveShared = processLocalShared(account),
): Promise<SetupResult> {
	return await shared.withSetup(async () => await createMissingFields(client, account));
}

async function createMissingFields(client: PipedriveClient, account: string): Promise<SetupResult> {
	const existing = await client.dealFields();
	const resolution = resolveFields(existing);
	if (resolution.conflicts.length)
		throw new Error(`Pipedrive deal fields need attention: ${resolution.conflicts.join('; ')}`);
	const created = new Set<string>();
	for (const lacking of resolution.missingOptions) {
		const added = await client.addDealFieldOptions(lacking.fieldCode, lacking.labels);
		const field = resolution.found[lacking.id]!;
		field.options = [...(field.options ?? []), ...added];
	}
	const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
	for (const spec of resolution.missing) {
		const field = await client.addDealField(
			{
				field_name: spec.name,
				field_type: spec.type,
				options: spec.options?.map((label) => ({ label })),
			},
			async () => (await client.dealFields()).find((f) => sameName(f.field_name, spec.name)),
		);
		resolution.found[spec.id] = field;
		created.add(spec.id);
	}
	if (created.size) {
		// Another n8n process may have made the same fields at the same moment (Pipedrive has no conditional
		// create). Every process that made one looks again: of same-named fields the oldest stays, the others
		// are deleted, so all processes end on one set whatever the interleaving (see markers.ts survivorOf).
		const withIds = await client.dealFieldIds();
		const current = await client.dealFields();
		for (const spec of CHECKOUT_FIELDS.filter((f) => created.has(f.id))) {
			const survivor = survivorOf(withIds.filter((f) => sameName(f.name, spec.name)));
			if (!survivor) continue;
			for (const extra of survivor.extra) await client.deleteDealField(extra.key);
			const kept = current.find((f) => f.field_code === survivor.keep.key);
			if (kept) resolution.found[spec.id] = kept;
		}
	}
	const fields = fieldKeysOf(resolution.found);
	fieldKeyCache.set(account, { fields, at: Date.now() });
	return {
		fields: CHECKOUT_FIELDS.map((spec) => ({
			name: spec.name,
			key: fields.keys[spec.id],
			type: spec.type,
			created: created.has(spec.id),
		})),
		statusOptions: fields.statusOptions,
	};
}

/** The field keys, from the cache or from Pipedrive (creating what is missing, as Setup does). */
export async function checkoutFields(
	client: PipedriveClient,
	account: string,
	shared?: PipedriveShared,
): Promise<FieldKeys> {
	const cached = fieldKeyCache.get(account);
	if (cached && Date.now() - cached.at < FIELD_KEYS_TTL_MS) return cached.fields;
	await setupFields(client, account, shared);
	return fieldKeyCache.get(account)!.fields;
}
