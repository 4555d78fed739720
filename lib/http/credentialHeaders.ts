/**
 * The headers a credential's generic `authenticate` adds (`Authorization: =Bearer {{$credentials.secretKey}}`),
 * rendered without n8n's expression engine. In a webhook handler n8n's authenticated request helper decrypts
 * the credential again and evaluates each header as an expression, which acquires an expression isolate:
 * about two thirds of the fast lead capture's CPU per form in the bench's profile (BENCHMARKS.md). The
 * fast paths render the same template from the credential they hold already. Only `{{$credentials.<name>}}`
 * placeholders are rendered; a template with any other expression yields undefined, and the caller goes
 * through n8n's helper as before. No n8n imports.
 */

/** The part of n8n's IAuthenticateGeneric that the pack's gateway credentials use. */
export interface GenericAuthTemplate {
	type: 'generic';
	properties: { headers?: Record<string, string>; qs?: unknown; body?: unknown; auth?: unknown };
}

const PLACEHOLDER = /\{\{\s*\$credentials\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** The rendered headers, or undefined when the template needs more than `$credentials` placeholders. */
export function renderCredentialHeaders(
	template: GenericAuthTemplate,
	credentials: Record<string, unknown>,
): Record<string, string> | undefined {
	const { headers, qs, body, auth } = template.properties;
	if (qs !== undefined || body !== undefined || auth !== undefined) return undefined;
	const rendered: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers ?? {})) {
		if (!value.startsWith('=')) {
			rendered[name] = value;
			continue;
		}
		const expression = value.slice(1);
		const withoutPlaceholders = expression.replace(PLACEHOLDER, '');
		if (withoutPlaceholders.includes('{{') || withoutPlaceholders.includes('}}')) return undefined;
		rendered[name] = expression.replace(PLACEHOLDER, (_, field: string) => {
			const v = credentials[field];
			return v === undefined || v === null ? '' : String(v);
		});
	}
	return rendered;
}
