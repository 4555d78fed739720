/**
 * No import circles in lib/ and nodes/: a module that reaches itself through its imports is loaded half
 * made (CommonJS hands the second importer an unfinished exports object) and cannot be understood on its
 * own. Reads the sources and follows every relative import, `import type` included (a type circle is the
 * same tangle of ideas, and becomes a runtime one with the first value import).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { preProcessFile } from 'typescript';

const root = join(__dirname, '../..');

function sourceFiles(folder: string): string[] {
	return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
		const path = join(folder, entry.name);
		if (entry.isDirectory()) return sourceFiles(path);
		return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
	});
}

/** The file a relative specifier names, as TypeScript resolves it (x.ts, or x/index.ts). */
function resolveImport(fromFile: string, specifier: string): string | undefined {
	const base = resolve(dirname(fromFile), specifier);
	for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
		if (existsSync(candidate) && statSync(candidate).isFile() && candidate.endsWith('.ts'))
			return candidate;
	}
	return undefined;
}

/** Each file's relative imports (import, import type, export … from, require, import()). */
export function importGraph(files: string[]): Map<string, string[]> {
	const graph = new Map<string, string[]>();
	for (const file of files) {
		const { importedFiles } = preProcessFile(readFileSync(file, 'utf8'), true, true);
		const targets = importedFiles
			.map((imported) => imported.fileName)
			.filter((specifier) => specifier.startsWith('.'))
			.map((specifier) => {
				const target = resolveImport(file, specifier);
				if (!target) throw new Error(`${relative(root, file)}: cannot resolve "${specifier}"`);
				return target;
			});
		graph.set(file, [...new Set(targets)]);
	}
	return graph;
}

/** One circle per strongly connected group of modules (Tarjan), each as a path that returns to its start. */
export function importCircles(graph: Map<string, string[]>): string[][] {
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const groups: string[][] = [];
	let next = 0;
	const visit = (node: string): void => {
		index.set(node, next);
		low.set(node, next);
		next++;
		stack.push(node);
		onStack.add(node);
		for (const target of graph.get(node) ?? []) {
			if (!index.has(target)) {
				visit(target);
				low.set(node, Math.min(low.get(node)!, low.get(target)!));
			} else if (onStack.has(target)) {
				low.set(node, Math.min(low.get(node)!, index.get(target)!));
			}
		}
		if (low.get(node) === index.get(node)) {
			const group: string[] = [];
			let member: string;
			do {
				member = stack.pop()!;
				onStack.delete(member);
				group.push(member);
			} while (member !== node);
			const selfImport = (graph.get(node) ?? []).includes(node);
			if (group.length > 1 || selfImport) groups.push(group);
		}
	};
	for (const node of graph.keys()) if (!index.has(node)) visit(node);
	return groups.map((group) => circleThrough(graph, new Set(group), [...group].sort()[0]));
}

/** A shortest path from `start` back to itself inside one group (breadth first), to name the circle. */
function circleThrough(graph: Map<string, string[]>, group: Set<string>, start: string): string[] {
	const cameFrom = new Map<string, string>();
	const queue = [start];
	while (queue.length > 0) {
		const node = queue.shift()!;
		for (const target of graph.get(node) ?? []) {
			if (!group.has(target)) continue;
			if (target === start) {
				const path = [start];
				for (let at = node; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
				return [...path, start];
			}
			if (!cameFrom.has(target)) {
				cameFrom.set(target, node);
				queue.push(target);
			}
		}
	}
	return [start, start];
}

describe('the circle finder', () => {
	it('names each circle once, as a path back to its start', () => {
		const graph = new Map([
			['a', ['b']],
			['b', ['c', 'd']],
			['c', ['a']],
			['d', []],
			['e', ['e']],
			['f', ['d']],
		]);
		const circles = importCircles(graph).map((circle) => circle.join(' → '));
		expect(circles.sort()).toEqual(['a → b → c → a', 'e → e']);
	});
	it('finds none in a tree', () => {
		expect(
			importCircles(
				new Map([
					['a', ['b', 'c']],
					['b', ['c']],
					['c', []],
				]),
			),
		).toEqual([]);
	});
});

it('lib/ and nodes/ have no import circles', () => {
	const files = [...sourceFiles(join(root, 'lib')), ...sourceFiles(join(root, 'nodes'))];
	const graph = importGraph(files);
	expect(graph.size).toBeGreaterThan(50);
	const circles = importCircles(graph).map((circle) =>
		circle.map((file) => relative(root, file)).join(' → '),
	);
	expect(circles).toEqual([]);
});
