/**
 * What every HTML answer and redirect of the pack carries so that a browser protects the buyer and the
 * shop. The pages are static text the pack renders (no script, no form, no frame):
 * - HTML_SECURITY_HEADERS, sent by the shipped workflows' Respond to Webhook nodes (a unit test keeps them
 *   there): no Referer leaves the page (a pay or report link in the address never reaches another site's
 *   logs), no framing (clickjacking), no MIME sniffing of a body a buyer's text went into;
 * - HTML_CSP_META, in the head of every page: no script at all, so an escaping slip cannot run anything.
 *   It is a meta element, not a header, because n8n replaces the Content-Security-Policy header of a
 *   webhook's HTML answer with its own sandbox policy; a browser enforces both.
 */
export const HTML_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	'Referrer-Policy': 'no-referrer',
	'X-Content-Type-Options': 'nosniff',
	'X-Frame-Options': 'DENY',
});

/** The page's own policy (meta elements cannot carry frame-ancestors: X-Frame-Options does that). */
export const PAGE_CONTENT_SECURITY_POLICY =
	"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export const HTML_CSP_META = `<meta http-equiv="Content-Security-Policy" content="${PAGE_CONTENT_SECURITY_POLICY}">`;
