/** Maps with at most `concurrency` calls in flight; results keep the input order. */
export async function mapInOrder<T, R>(
	items: T[],
	concurrency: number,
	fn: (item: T) => Promise<R>,
): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const workers = Array.from(
		{ length: Math.max(1, Math.min(concurrency, items.length)) },
		async () => {
			while (next < items.length) {
				const i = next++;
				results[i] = await fn(items[i]);
			}
		},
	);
	await Promise.all(workers);
	return results;
}
