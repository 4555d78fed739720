/**
 * Where a credential sends its secret. A base URL or company domain typed into a credential is checked
 * before any request carries the token: a domain such as "evil.example#" would otherwise turn
 * "https://{domain}.pipedrive.com" into a request to evil.example, and "https://api.stripe.com@evil.example"
 * or a query or path hides the real host from whoever reads the field. The credentials' own test
 * requests apply the same rules in their expressions (credentials/*.credentials.ts).
 */
export class BaseUrlError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'BaseUrlError';
	}
}

/** An origin (scheme, host, port) and nothing else; a trailing "/" is dropped. */
export function checkedBaseUrl(value: string, label: string): string {
	const text = value.trim();
	let url: URL;
	try {
		url = new URL(text);
	} catch {
		throw new BaseUrlError(
			`${label} "${text.slice(0, 80)}" is not a URL (e.g. https://api.example.com)`,
		);
	}
	// Plain http only on this machine (a stand-in, a local proxy): anywhere else the secret would travel in clear.
	const loopback =
		url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
	if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback))
		throw new BaseUrlError(
			`${label} must start with https:// (http:// only for 127.0.0.1 or localhost)`,
		);
	if (url.username || url.password)
		throw new BaseUrlError(`${label} must not carry a user name or password (the part before "@")`);
	if (url.search || url.hash || text.includes('?') || text.includes('#'))
		throw new BaseUrlError(`${label} must not have a query or fragment`);
	if (url.pathname !== '/' && url.pathname !== '')
		throw new BaseUrlError(
			`${label} must be an origin without a path (e.g. https://api.example.com)`,
		);
	return url.origin;
}

/** A Pipedrive company domain, the part before .pipedrive.com (a pasted address is accepted too). */
export function pipedriveCompanyUrl(domain: string): string {
	const name = domain
		.trim()
		.replace(/^https:\/\//i, '')
		.replace(/\.pipedrive\.com\/?$/i, '');
	if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(name)) {
		throw new BaseUrlError(
			'Company Domain must be the part before .pipedrive.com: letters, digits and hyphens only',
		);
	}
	return `https://${name.toLowerCase()}.pipedrive.com`;
}
