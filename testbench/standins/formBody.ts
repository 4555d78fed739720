/** Decodes Stripe-style nested form bodies (`a[b][0][c]=v`) into objects and arrays. */
export function parseNestedForm(body: string): Record<string, unknown> {
	const root: Record<string, unknown> = {};
	for (const [rawKey, value] of new URLSearchParams(body)) {
		const path = rawKey.replace(/\]/g, '').split('[');
		let node: Record<string, unknown> | unknown[] = root;
		path.forEach((segment, i) => {
			const last = i === path.length - 1;
			const nextIsIndex = !last && /^\d+$/.test(path[i + 1]);
			const container = node as Record<string, unknown>;
			if (last) container[segment] = value;
			else {
				container[segment] ??= nextIsIndex ? [] : {};
				node = container[segment] as Record<string, unknown>;
			}
		});
	}
	return root;
}
