/**
 * The bench's CPU profile summary (testbench/cpuProfile.ts): self time by area and by function, read the
 * way Chrome DevTools reads a V8 profile (a sample's time is the delta to the next sample).
 */
import {
	areaOf,
	packageOf,
	profileTables,
	summariseProfile,
	type CpuProfile,
} from '../../testbench/cpuProfile';

const CACHE = '/root/.cache/n8n-nodes-checkout-recovery/bench-1/n8n-host/node_modules';

test('a script is named by the package after its last node_modules, whatever folder the bench lives in', () => {
	expect(packageOf(`${CACHE}/n8n-core/dist/webhooks.js`)).toBe('n8n-core');
	expect(packageOf(`${CACHE}/n8n/node_modules/@aws-sdk/client-s3/dist-cjs/index.js`)).toBe(
		'@aws-sdk/client-s3',
	);
	expect(packageOf('node:internal/crypto/keys')).toBeUndefined();
	expect(areaOf(`${CACHE}/@smithy/core/dist-cjs/index.js`, 'f')).toBe('AWS SDK (S3 client)');
	expect(areaOf(`${CACHE}/n8n-nodes-checkout-recovery/dist/lib/archive/archive.js`, 'store')).toBe(
		'the pack',
	);
	expect(areaOf(`${CACHE}/@n8n/typeorm/dist/query-builder/QueryBuilder.js`, 'q')).toBe(
		'n8n database (TypeORM, SQLite)',
	);
	expect(areaOf('', '(garbage collector)')).toBe('garbage collector');
	expect(areaOf('node:_http_client', 'tickOnSocket')).toMatch(/^Node\.js/);
});

test('self time goes to the sampled function, idle is left out, shares add up to one', () => {
	const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
	const profile: CpuProfile = {
		nodes: [
			{ id: 1, callFrame: frame('(root)', ''), children: [2, 3] },
			{ id: 2, callFrame: frame('(idle)', '') },
			{
				id: 3,
				callFrame: frame('store', `${CACHE}/n8n-nodes-checkout-recovery/dist/a.js`),
				children: [4],
			},
			{
				id: 4,
				callFrame: frame('send', `${CACHE}/@aws-sdk/client-s3/dist-cjs/index.js`),
				children: [5],
			},
			{ id: 5, callFrame: frame('writev', 'node:net') },
		],
		startTime: 0,
		endTime: 1000,
		// Samples: store, send, writev (called by send), idle, store; each delta is the time up to the next sample.
		samples: [3, 4, 5, 2, 3],
		timeDeltas: [0, 100, 200, 300, 1000],
	};
	const summary = summariseProfile(profile);
	// store: 100 µs (first) + 0 (last: no next delta); send: 200, and writev's 300 charged to the SDK that
	// called it; idle: 1000 (left out).
	expect(summary.busyMs).toBeCloseTo(0.6);
	expect(summary.areas).toEqual([
		{ area: 'AWS SDK (S3 client)', ms: 0.5, share: expect.closeTo(0.5 / 0.6) },
		{ area: 'the pack', ms: 0.1, share: expect.closeTo(0.1 / 0.6) },
	]);
	// The function table keeps self time: writev is Node's, however it was called.
	expect(summary.functions.map((f) => [f.name, f.area, f.ms])).toEqual([
		['writev node:net:10', expect.stringMatching(/^Node\.js/), 0.3],
		['send @aws-sdk/client-s3/dist-cjs/index.js:10', 'AWS SDK (S3 client)', 0.2],
		['store n8n-nodes-checkout-recovery/dist/a.js:10', 'the pack', 0.1],
	]);
	// Per-request milliseconds are the shares applied to the CPU /proc counted: 60 ms over 10 requests.
	const tables = profileTables(summary, 10, 60);
	expect(tables).toContain('| AWS SDK (S3 client) | 5.00 | 83.3% |');
	expect(tables).toContain('| the pack | 1.00 | 16.7% |');
});
