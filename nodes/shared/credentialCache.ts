/** Credentials of a webhook handler, decrypted once per few seconds per process (the fast paths' per-request cost). */
import type { ICredentialDataDecryptedObject, IWebhookFunctions } from 'n8n-workflow';

/**
 * Decrypted credentials for a few seconds per process: n8n reads and decrypts a credential from its
 * database on every getCredentials call, and a fast path asks for two or three per request. A credential edited in n8n takes
 * effect after at most CREDENTIAL_TTL_MS.
 */
const CREDENTIAL_TTL_MS = 5_000;
const credentialCache = new Map<string, { data: ICredentialDataDecryptedObject; until: number }>();
export async function cachedCredentials(
	ctx: IWebhookFunctions,
	type: string,
): Promise<ICredentialDataDecryptedObject> {
	const key = `${type}:${ctx.getNode().credentials?.[type]?.id ?? ''}`;
	const hit = credentialCache.get(key);
	if (hit && hit.until > Date.now()) return hit.data;
	const data = await ctx.getCredentials(type);
	credentialCache.set(key, { data, until: Date.now() + CREDENTIAL_TTL_MS });
	return data;
}
