/**
 * Request data from the open internet → a tree that cannot be turned against the process. Every URL the
 * pack exposes is public, so every object built from a request body, query or header set goes through
 * here: keys that would reach an object's prototype (`__proto__`, `constructor`, `prototype`) are
 * refused, every object built is prototype-free, and body size, field count, key length and nesting
 * depth are capped. No I/O, no n8n.
 */

/** Keys that, assigned on an ordinary object, reach or replace its prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
	'__proto__',
	'constructor',
	'prototype',
]);

export interface InputLimits {
	/** Characters of all keys and text values together (a stand-in for the body size, which n8n parsed already). */
	maxChars: number;
	/** Leaf values (text, number, boolean, null) in the whole tree. */
	maxFields: number;
	maxKeyLength: number;
	/** Objects and arrays inside each other; `{a:{b:1}}` has depth 2. */
	maxDepth: number;
}

/** A checkout form has a few dozen short fields; these leave room for Elementor's metadata and then some. */
export const FORM_LIMITS: InputLimits = {
	maxChars: 64 * 1024,
	maxFields: 300,
	maxKeyLength: 100,
	maxDepth: 6,
};

/** Gateway notifications are larger (Stripe sends the whole object) but still well bounded. */
export const GATEWAY_BODY_LIMITS: InputLimits = {
	maxChars: 1024 * 1024,
	maxFields: 20_000,
	maxKeyLength: 200,
	maxDepth: 32,
};

/** Queue messages are our own relay's (leads, normalised events with the gateway's raw body): generous caps, same key rules. */
export const QUEUE_MESSAGE_LIMITS: InputLimits = {
	maxChars: 8 * 1024 * 1024,
	maxFields: 200_000,
	maxKeyLength: 500,
	maxDepth: 64,
};

/** Why a request's data was refused: `field` names the key (or `body`), `status` is the HTTP answer. */
export class UntrustedInputError extends Error {
	constructor(
		readonly field: string,
		message: string,
		readonly status: 400 | 413 | 415 | 422 = 422,
	) {
		super(`${field} ${message}`);
		this.name = 'UntrustedInputError';
	}
}

export type SafeTree = string | number | boolean | null | SafeTree[] | { [key: string]: SafeTree };

/** An object with no prototype: no key read from it resolves to Object.prototype's members. */
export function bareObject<T>(): Record<string, T> {
	return Object.create(null) as Record<string, T>;
}

/** `fields[email][value]` → ['fields', 'email', 'value']; a key without brackets is one segment. */
export function phpKeySegments(key: string): string[] {
	const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(key);
	return m ? [m[1], ...m[2].slice(1, -1).split('][')] : [key];
}

interface Budget {
	chars: number;
	fields: number;
}

function checkKey(key: string, where: string, limits: InputLimits): void {
	if (FORBIDDEN_KEYS.has(key))
		throw new UntrustedInputError(where, `is not an allowed field name ("${key}")`);
	if (key.length > limits.maxKeyLength)
		throw new UntrustedInputError(
			where.slice(0, limits.maxKeyLength) + '…',
			`is a field name longer than ${limits.maxKeyLength} characters`,
		);
}

function spend(budget: Budget, chars: number, limits: InputLimits): void {
	budget.chars += chars;
	if (budget.chars > limits.maxChars)
		throw new UntrustedInputError(
			'body',
			`is too large (more than ${limits.maxChars} characters)`,
			413,
		);
}

function copy(
	value: unknown,
	where: string,
	depth: number,
	limits: InputLimits,
	budget: Budget,
): SafeTree {
	if (value === null || value === undefined) return null;
	if (typeof value === 'string') {
		spend(budget, value.length, limits);
		return value;
	}
	if (typeof value === 'number' || typeof value === 'boolean') return value;
	if (typeof value !== 'object') return String(value);
	if (depth >= limits.maxDepth)
		throw new UntrustedInputError(
			where || 'body',
			`is nested deeper than ${limits.maxDepth} levels`,
		);
	if (Array.isArray(value)) {
		if (value.length > limits.maxFields)
			throw new UntrustedInputError(
				where || 'body',
				`has more than ${limits.maxFields} values`,
				413,
			);
		return value.map((v, i) => {
			const child = copy(v, `${where}[${i}]`, depth + 1, limits, budget);
			if (!Array.isArray(child) && (child === null || typeof child !== 'object'))
				countField(budget, where, limits);
			return child;
		});
	}
	const out = bareObject<SafeTree>();
	// Own enumerable keys only, as JSON.parse and n8n's body parsers produce them (a parsed "__proto__"
	// is an own key, so it is seen here and refused).
	for (const key of Object.keys(value)) {
		const path = where ? `${where}[${key}]` : key;
		checkKey(key, path, limits);
		spend(budget, key.length, limits);
		const child = copy((value as Record<string, unknown>)[key], path, depth + 1, limits, budget);
		if (child === null || typeof child !== 'object') countField(budget, path, limits);
		out[key] = child;
	}
	return out;
}

function countField(budget: Budget, where: string, limits: InputLimits): void {
	budget.fields += 1;
	if (budget.fields > limits.maxFields)
		throw new UntrustedInputError(
			where.split('[')[0] || 'body',
			`makes the body exceed ${limits.maxFields} fields`,
			413,
		);
}

/**
 * A prototype-free deep copy of parsed request data, or an UntrustedInputError naming the first key
 * that breaks a rule. With `expandPhpKeys`, flat keys such as `fields[email][value]` (what PHP's
 * http_build_query sends when the parser left them flat) are nested, their segments checked like keys.
 */
export function safeTree(
	value: unknown,
	limits: InputLimits,
	options: { expandPhpKeys?: boolean } = {},
): SafeTree {
	const budget: Budget = { chars: 0, fields: 0 };
	const tree = copy(value, '', 0, limits, budget);
	if (!options.expandPhpKeys || tree === null || typeof tree !== 'object' || Array.isArray(tree))
		return tree;
	const nested = bareObject<SafeTree>();
	for (const key of Object.keys(tree)) {
		const segments = phpKeySegments(key);
		if (segments.length === 1) {
			nested[key] = tree[key];
			continue;
		}
		if (segments.length > limits.maxDepth)
			throw new UntrustedInputError(key, `is nested deeper than ${limits.maxDepth} levels`);
		let node = nested;
		segments.forEach((segment, i) => {
			checkKey(segment, key, limits);
			if (i === segments.length - 1) {
				node[segment] = tree[key];
				return;
			}
			const next = node[segment];
			if (next !== null && typeof next === 'object' && !Array.isArray(next)) node = next;
			else node = node[segment] = bareObject<SafeTree>();
		});
	}
	return nested;
}

/** JSON text → a safe tree; text that is not JSON is a 400 naming the body. */
export function parseJsonSafely(text: string, limits: InputLimits): SafeTree {
	if (text.length > limits.maxChars)
		throw new UntrustedInputError(
			'body',
			`is too large (more than ${limits.maxChars} characters)`,
			413,
		);
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		throw new UntrustedInputError('body', 'is not valid JSON', 400);
	}
	return safeTree(parsed, limits);
}

/** Header or query values as text by lower-case name, in a prototype-free object (first of repeated values). */
export function textRecord(
	values: Record<string, unknown> | undefined,
	lowerCaseKeys = false,
): Record<string, string | undefined> {
	const out = bareObject<string | undefined>();
	for (const [name, value] of Object.entries(values ?? {})) {
		const first = Array.isArray(value) ? value[0] : value;
		out[lowerCaseKeys ? name.toLowerCase() : name] =
			first === undefined || first === null
				? undefined
				: typeof first === 'object'
					? undefined
					: String(first);
	}
	return out;
}
