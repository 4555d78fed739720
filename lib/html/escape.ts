/**
 * Text put into HTML: the answer pages of lead capture, the report page, Pipedrive notes, and the local
 * stand-ins' pages. Escapes the five characters that can end a text or an attribute value (quoted with
 * either quote), so whatever a buyer typed stays text.
 */
export function escapeHtml(text: string): string {
	return text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
	);
}
