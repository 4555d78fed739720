/**
 * `npm start` and `npm run bench` run the test bench compiled into build/ (tsconfig.tools.json), not the
 * TypeScript sources the other tests use. A file the bench needs that tsc does not copy (the s3rver patch,
 * the bench-only node package) must still be found from there: this compiles the tools into a folder of
 * its own and starts the bench's S3 server from the compiled copy, as start.ts does.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { REPO_ROOT } from '../../testbench/n8n';

jest.setTimeout(180_000);

it('the compiled test bench starts its S3 server, with its patch, and finds the bench-only node package', () => {
	const base = join(REPO_ROOT, '.artifacts');
	execFileSync('mkdir', ['-p', base]);
	const outDir = mkdtempSync(join(base, 'tools-build-'));
	try {
		execFileSync(
			process.execPath,
			[require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.tools.json', '--outDir', outDir],
			{ cwd: REPO_ROOT, stdio: 'pipe' },
		);
		const script = `
			const { existsSync } = require('node:fs');
			const { startS3Server } = require(${JSON.stringify(join(outDir, 'testbench/s3.js'))});
			const { FLOOR_PACKAGE } = require(${JSON.stringify(join(outDir, 'testbench/n8n.js'))});
			(async () => {
				const s3 = await startS3Server();
				await s3.createBucket('compiled-bench');
				const res = await fetch(s3.endpoint + '/compiled-bench');
				await s3.destroy();
				console.log(JSON.stringify({ status: res.status, floor: existsSync(FLOOR_PACKAGE + '/package.json') }));
			})().catch((e) => { console.error(e); process.exit(1); });
		`;
		const out = execFileSync(process.execPath, ['-e', script], {
			cwd: REPO_ROOT,
			encoding: 'utf8',
		});
		expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ status: 200, floor: true });
	} finally {
		rmSync(outDir, { recursive: true, force: true });
	}
});
