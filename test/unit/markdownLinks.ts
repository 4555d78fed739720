/**
 * What the documentation link test needs to read Markdown as GitHub renders it: the anchors its headings
 * get, and the links it holds. Pure functions over text; the test reads the files.
 */

/**
 * GitHub's heading anchor: lowercase, punctuation and symbols dropped (letters, digits, marks, `-` and `_`
 * stay), each space a hyphen. Repeats are told apart by the caller (see headingAnchors).
 */
export function githubSlug(headingText: string): string {
	return headingText
		.toLowerCase()
		.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
		.replace(/ /g, '-');
}

/** Markdown without its fenced code blocks (their lines kept blank, so line numbers stay true). */
function withoutCodeBlocks(markdown: string): string[] {
	let fence: string | undefined;
	return markdown.split('\n').map((line) => {
		const opener = /^\s*(`{3,}|~{3,})/.exec(line);
		if (fence === undefined) {
			if (opener) {
				fence = opener[1];
				return '';
			}
			return line;
		}
		if (opener && opener[1][0] === fence[0] && opener[1].length >= fence.length) fence = undefined;
		return '';
	});
}

/** A heading's text as GitHub renders it: no inline code ticks, emphasis stars or link targets. */
function renderedText(markdown: string): string {
	return markdown
		.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
		.replace(/<[^>]+>/g, '')
		.replace(/`([^`]*)`/g, '$1')
		.replace(/\*/g, '')
		.trim();
}

/** Every anchor a page offers: its headings' slugs (repeats as slug-1, slug-2…) and explicit HTML ids. */
export function headingAnchors(markdown: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	for (const line of withoutCodeBlocks(markdown)) {
		for (const match of line.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(match[1]);
		const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
		if (!heading) continue;
		const slug = githubSlug(renderedText(heading[1]));
		const count = seen.get(slug) ?? 0;
		seen.set(slug, count + 1);
		anchors.add(count === 0 ? slug : `${slug}-${count}`);
	}
	return anchors;
}

export interface MarkdownLink {
	target: string;
	line: number;
}

/** Every link and image target outside code: `[text](target)`, `[id]: target`, `href`/`src` attributes. */
export function markdownLinks(markdown: string): MarkdownLink[] {
	const links: MarkdownLink[] = [];
	withoutCodeBlocks(markdown).forEach((raw, index) => {
		const line = raw.replace(/`[^`]*`/g, '');
		const targets = [
			...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)].map((m) => m[1]),
			...[...line.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((m) => m[1]),
			...[...line.matchAll(/\s(?:href|src)="([^"]+)"/g)].map((m) => m[1]),
		];
		for (const target of targets) links.push({ target, line: index + 1 });
	});
	return links;
}
