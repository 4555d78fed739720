/**
 * The headers every HTML answer and redirect of the pack sends (the shipped workflows' Respond to Webhook
 * nodes carry them; test/unit/workflow-security-headers.test.ts keeps them there). The pages are static
 * text the pack renders (no script, no form, no frame), so the policy allows nothing but inline styles:
 * - no Referer leaves the page (a pay or report link in the address never reaches another site's logs);
 * - no framing (clickjacking), no MIME sniffing of a body a buyer's text went into;
 * - no script at all, so an escaping slip in a page cannot run anything.
 */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	'Content-Security-Policy':
		"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	'Referrer-Policy': 'no-referrer',
	'X-Content-Type-Options': 'nosniff',
	'X-Frame-Options': 'DENY',
});
