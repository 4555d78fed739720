#!/usr/bin/env node
// `minio server DIR [--console-address :PORT]`, served by s3rver (see the Dockerfile for what it is not).
'use strict';
const { spawn } = require('node:child_process');
const http = require('node:http');

const args = process.argv.slice(2);
if (args[0] !== 'server' || !args[1]) {
	console.error('minio stand-in: usage: minio server DIR [--console-address :PORT]');
	process.exit(2);
}
const dir = args[1];
const consoleAt = args.indexOf('--console-address');
const consolePort = consoleAt > 0 ? Number(String(args[consoleAt + 1]).replace(/^.*:/, '')) : 0;

const server = spawn(
	process.execPath,
	[
		'--openssl-legacy-provider',
		'-r',
		'/opt/s3rver/s3rver-patch.js',
		'-r',
		'/opt/s3rver/root-user.js',
		'/opt/s3rver/node_modules/s3rver/bin/s3rver.js',
		'-d',
		dir,
		'-a',
		'0.0.0.0',
		'-p',
		'9000',
		'--no-vhost-buckets',
		'-s',
	],
	{ stdio: 'inherit' },
);
server.on('exit', (code) => process.exit(code ?? 1));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.kill(signal));

if (consolePort) {
	http
		.createServer((_req, res) => {
			res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
			res.end('S3 stand-in (s3rver), not MinIO: there is no console.\n');
		})
		.listen(consolePort, '0.0.0.0');
}
