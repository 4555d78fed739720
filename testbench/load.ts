/** A small closed-loop HTTP load generator for benchmarks: N requests over C concurrent senders. */
export interface LoadResult {
	label: string;
	concurrency: number;
	requests: number;
	ok: number;
	errors: number;
	seconds: number;
	perSecond: number;
	p50Ms: number;
	p95Ms: number;
	p99Ms: number;
	/** Every request's latency in ms, sorted. */
	latencies: number[];
	/** CPU ms per answered request of the process under test, where the caller measured it. */
	cpuMsPerRequest?: number;
}

function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function runLoad(
	label: string,
	send: (i: number) => Promise<boolean>,
	{ requests, concurrency }: { requests: number; concurrency: number },
): Promise<LoadResult> {
	const latencies: number[] = [];
	let ok = 0;
	let errors = 0;
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (next < requests) {
				const i = next++;
				const t0 = performance.now();
				let good = false;
				try {
					good = await send(i);
				} catch {
					good = false;
				}
				latencies.push(performance.now() - t0);
				if (good) ok++;
				else errors++;
			}
		}),
	);
	const seconds = (performance.now() - started) / 1000;
	latencies.sort((a, b) => a - b);
	return {
		label,
		concurrency,
		requests,
		ok,
		errors,
		seconds,
		perSecond: ok / seconds,
		p50Ms: percentile(latencies, 50),
		p95Ms: percentile(latencies, 95),
		p99Ms: percentile(latencies, 99),
		latencies,
	};
}
