/**
 * The S3-compatible server of the test bench: s3rver 3.7.1 in a child process on a free loopback port.
 * It needs OpenSSL's legacy provider (its list continuation tokens use DES) and accepts only its fixed
 * S3RVER/S3RVER keys; clients must send checksums only WHEN_REQUIRED (see lib/s3/client.ts). It runs with
 * s3rver-patch.js preloaded, which closes a PUT/DELETE race of its store that crashed the server and
 * teaches it conditional writes as AWS S3 documents them (`conditionalWrites: false` leaves them out).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';

import { S3Archive } from '../lib/archive/archive';
import { createS3Client, type S3Settings } from '../lib/s3/client';
import { processCpuSeconds, REPO_ROOT } from './n8n';
import { freePort, waitFor } from './ports';

export interface S3Server {
	endpoint: string;
	port: number;
	settings(bucket: string): S3Settings;
	createBucket(bucket: string): Promise<void>;
	/** The pack's archive on this server, to look into what a test stored; `close` ends its client. */
	openArchive(bucket: string, prefix: string): { archive: S3Archive; close: () => void };
	/** Stops the server, keeping its data (an outage); `start` brings it back on the same port. */
	stop(): Promise<void>;
	start(): Promise<void>;
	/** Stops it and removes its data. */
	destroy(): Promise<void>;
	/** CPU seconds the server process has used so far (0 when it is not running). */
	cpuSeconds(): number;
	/** Why the server process ended on its own (a crash), or undefined while it runs or after `stop`. */
	crashed(): string | undefined;
}

const S3RVER_BIN = require.resolve('s3rver/bin/s3rver.js');
// From the sources: the compiled copy of this file in build/ has no copy of the plain JavaScript patch.
const S3RVER_PATCH = join(REPO_ROOT, 'testbench/s3rver-patch.js');

export async function startS3Server(
	opts: {
		port?: number;
		directory?: string;
		/** False: the server ignores If-None-Match and If-Match on writes, as s3rver does unpatched. */
		conditionalWrites?: boolean;
	} = {},
): Promise<S3Server> {
	const port = opts.port ?? (await freePort());
	const directory = opts.directory ?? mkdtempSync(join(tmpdir(), 'cr-s3-'));
	const endpoint = `http://127.0.0.1:${port}`;
	let child: ChildProcess | undefined;
	let exited: string | undefined;
	let crash: string | undefined;

	const start = async () => {
		exited = undefined;
		crash = undefined;
		let log = '';
		child = spawn(
			process.execPath,
			[
				'--openssl-legacy-provider',
				'-r',
				S3RVER_PATCH,
				S3RVER_BIN,
				'-d',
				directory,
				'-a',
				'127.0.0.1',
				'-p',
				String(port),
				'-s',
			],
			{
				stdio: ['ignore', 'pipe', 'pipe'],
				env: {
					...process.env,
					S3RVER_CONDITIONAL_WRITES: opts.conditionalWrites === false ? 'off' : 'on',
				},
			},
		);
		child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
		child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
		const own = child;
		child.on('exit', (code) => {
			exited = `s3rver exited with ${code}: ${log.slice(-500)}`;
			if (child === own) crash = exited;
		});
		// Ready when our own process says it listens and the port answers HTTP (not some leftover server).
		await waitFor(
			`s3rver on ${endpoint}`,
			async () => {
				if (!log.includes('listening')) return undefined;
				const res = await fetch(endpoint + '/');
				return res.status > 0 ? true : undefined;
			},
			{ timeoutMs: 20_000, abort: () => exited },
		);
	};
	const stop = async () => {
		const c = child;
		child = undefined;
		if (!c || c.exitCode !== null) return;
		await new Promise<void>((resolve) => {
			c.once('exit', () => resolve());
			c.kill('SIGTERM');
		});
	};
	await start();

	const settings = (bucket: string): S3Settings => ({
		endpoint,
		region: 'us-east-1',
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		forcePathStyle: true,
		bucket,
	});
	return {
		endpoint,
		port,
		settings,
		cpuSeconds: () => processCpuSeconds(child?.pid ?? 0),
		async createBucket(bucket) {
			const client = createS3Client(settings(bucket));
			try {
				await client.send(new CreateBucketCommand({ Bucket: bucket }));
			} finally {
				client.destroy();
			}
		},
		openArchive(bucket, prefix) {
			const client = createS3Client(settings(bucket));
			return { archive: new S3Archive(client, { bucket, prefix }), close: () => client.destroy() };
		},
		stop,
		start,
		crashed: () => crash,
		async destroy() {
			await stop();
			rmSync(directory, { recursive: true, force: true });
		},
	};
}
