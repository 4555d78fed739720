/**
 * Every documentation link lands: the Docs links the editor shows (the nodes' codex files and the
 * credentials' documentationUrl) and every relative link of the repository's Markdown files resolve to a
 * file of this repository and, where they name an #anchor, to a heading of that file (GitHub's anchors).
 * Reads the repository's own files only.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { githubSlug, headingAnchors, markdownLinks } from './markdownLinks';

const root = join(__dirname, '../..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
	repository?: { url?: string } | string;
	n8n: { nodes: string[]; credentials: string[] };
};

/** https://github.com/owner/name, from package.json's repository field. */
function repositoryUrl(): string {
	const field = packageJson.repository;
	const url = typeof field === 'string' ? field : field?.url;
	if (!url) throw new Error('package.json has no repository field');
	return url.replace(/^git\+/, '').replace(/\.git$/, '');
}
const blobPrefix = `${repositoryUrl()}/blob/main/`;

const skippedFolders = new Set(['node_modules', '.git', 'dist', 'build', '.artifacts']);
function markdownFiles(folder: string): string[] {
	return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) return skippedFolders.has(entry.name) ? [] : markdownFiles(path);
		return entry.name.endsWith('.md') ? [path] : [];
	});
}

const anchorsCache = new Map<string, Set<string>>();
function anchorsOf(file: string): Set<string> {
	let anchors = anchorsCache.get(file);
	if (!anchors) {
		anchors = headingAnchors(readFileSync(file, 'utf8'));
		anchorsCache.set(file, anchors);
	}
	return anchors;
}

/** Why `pathAndAnchor` (relative to `fromFolder`) does not land, or undefined when it does. */
function brokenBecause(fromFolder: string, pathAndAnchor: string): string | undefined {
	const [pathPart, anchor] = pathAndAnchor.split('#', 2) as [string, string | undefined];
	const path = decodeURIComponent(pathPart.split('?')[0]);
	const file = path === '' ? undefined : resolve(fromFolder, path);
	if (file !== undefined) {
		if (file !== root && !file.startsWith(root + sep)) return 'points outside the repository';
		if (!existsSync(file)) return `${relative(root, file)} does not exist`;
	}
	if (anchor === undefined) return undefined;
	if (file !== undefined && statSync(file).isDirectory()) return 'an anchor on a folder';
	if (file !== undefined && !file.endsWith('.md'))
		return 'an anchor on a file that is not Markdown';
	return undefined;
}

function missingAnchor(file: string, anchor: string): string | undefined {
	return anchorsOf(file).has(anchor)
		? undefined
		: `${relative(root, file)} has no heading #${anchor}`;
}

/** A link of a Markdown file: undefined when it lands (or is outside this repository), else why not. */
function checkLink(markdownFile: string, target: string): string | undefined {
	if (target.startsWith(blobPrefix)) return checkRepositoryUrl(target);
	if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // http(s), mailto: not this repository
	const folder = dirname(markdownFile);
	const broken = brokenBecause(folder, target);
	if (broken) return broken;
	const [pathPart, anchor] = target.split('#', 2);
	if (anchor === undefined) return undefined;
	return missingAnchor(pathPart === '' ? markdownFile : resolve(folder, pathPart), anchor);
}

/** A URL of this repository's files on GitHub (blob/main/…): the file and heading must exist here. */
function checkRepositoryUrl(url: string): string | undefined {
	if (!url.startsWith(blobPrefix)) return `not a file of ${repositoryUrl()} (blob/main/…)`;
	const target = url.slice(blobPrefix.length);
	const broken = brokenBecause(root, target);
	if (broken) return broken;
	const [pathPart, anchor] = target.split('#', 2);
	return anchor === undefined ? undefined : missingAnchor(resolve(root, pathPart), anchor);
}

describe('GitHub heading anchors', () => {
	it.each([
		['Personal data (LGPD)', 'personal-data-lgpd'],
		["The shop's two pages", 'the-shops-two-pages'],
		[
			'One deal per checkout, even when the buyer submits twice',
			'one-deal-per-checkout-even-when-the-buyer-submits-twice',
		],
		['Queue mode: intake on webhook processors', 'queue-mode-intake-on-webhook-processors'],
		['snake_case and kebab-case', 'snake_case-and-kebab-case'],
		['Ação → Relatório', 'ação--relatório'],
	])('%s → #%s', (heading, slug) => {
		expect(githubSlug(heading)).toBe(slug);
	});

	it('numbers repeated headings and reads the text as rendered', () => {
		const anchors = headingAnchors(
			'# Tests\n## Tests\n```\n## not a heading\n```\n### Tests ##\n## The `Store` *operation*\n',
		);
		expect([...anchors]).toEqual(['tests', 'tests-1', 'tests-2', 'the-store-operation']);
	});

	it('finds links outside code only', () => {
		const links = markdownLinks(
			'See [a](docs/a.md#x) and ![b](images/b.png "title").\n`[c](c.md)`\n```\n[d](d.md)\n```\n[e]: e.md\n<img src="f.png">\n',
		);
		expect(links.map((link) => link.target)).toEqual([
			'docs/a.md#x',
			'images/b.png',
			'e.md',
			'f.png',
		]);
	});
});

describe('the checker', () => {
	const readme = join(root, 'README.md');
	it('rejects a missing file, a missing heading and a URL of another repository', () => {
		expect(checkLink(readme, 'docs/no-such-page.md')).toMatch(/does not exist/);
		expect(checkLink(readme, 'docs/archive.md#no-such-heading')).toMatch(/has no heading/);
		expect(checkLink(readme, '#no-such-heading')).toMatch(/has no heading/);
		expect(checkRepositoryUrl('https://github.com/someone/else/blob/main/README.md')).toMatch(
			/not a file of/,
		);
		expect(checkRepositoryUrl(`${blobPrefix}docs/archive.md#payment-gateway`)).toMatch(
			/has no heading/,
		);
	});
	it('accepts what exists', () => {
		expect(checkLink(readme, 'docs/archive.md#credentials')).toBeUndefined();
		expect(checkRepositoryUrl(`${blobPrefix}docs/archive.md`)).toBeUndefined();
	});
});

describe('documentation links', () => {
	const markdown = markdownFiles(root);

	it('covers the README, docs/ and the top-level pages', () => {
		const names = markdown.map((file) => relative(root, file));
		for (const expected of [
			'README.md',
			'CONTRIBUTING.md',
			'SECURITY.md',
			'RELIABILITY.md',
			'BENCHMARKS.md',
		]) {
			expect(names).toContain(expected);
		}
		expect(names.filter((name) => name.startsWith(`docs${sep}`)).length).toBeGreaterThan(0);
	});

	it('every relative link of every Markdown file lands on a file and heading', () => {
		const broken = markdown.flatMap((file) =>
			markdownLinks(readFileSync(file, 'utf8')).flatMap(({ target, line }) => {
				const why = checkLink(file, target);
				return why ? [`${relative(root, file)}:${line} ${target}: ${why}`] : [];
			}),
		);
		expect(broken).toEqual([]);
	});

	const codexFiles = packageJson.n8n.nodes.map((built) =>
		join(root, built.replace(/^dist\//, '').replace(/\.js$/, '.json')),
	);
	it.each(codexFiles.map((file) => [relative(root, file), file]))(
		"%s: the node's Docs links land on its docs/ page",
		(_name, file) => {
			const codex = JSON.parse(readFileSync(file, 'utf8')) as {
				resources: Record<string, Array<{ url: string }>>;
			};
			const urls = Object.values(codex.resources).flat();
			expect(codex.resources.primaryDocumentation?.length).toBeGreaterThan(0);
			for (const { url } of urls) {
				expect(url.startsWith(`${blobPrefix}docs/`)).toBe(true);
				expect(checkRepositoryUrl(url)).toBeUndefined();
			}
		},
	);

	const credentialFiles = packageJson.n8n.credentials.map((built) =>
		join(root, built.replace(/^dist\//, '').replace(/\.js$/, '.ts')),
	);
	it.each(credentialFiles.map((file) => [relative(root, file), file]))(
		"%s: the credential's documentationUrl lands on a docs/ page",
		(_name, file) => {
			const exported = require(file) as Record<string, new () => { documentationUrl?: string }>;
			const credentials = Object.values(exported).map((Type) => new Type());
			expect(credentials).toHaveLength(1);
			const url = credentials[0].documentationUrl ?? '';
			expect(url.startsWith(`${blobPrefix}docs/`)).toBe(true);
			expect(checkRepositoryUrl(url)).toBeUndefined();
		},
	);
});
