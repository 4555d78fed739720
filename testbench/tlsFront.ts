/**
 * An https front for a loopback stand-in, on an address the compose stack's containers reach (the Docker
 * bridge's gateway): TLS ends here, with a certificate of the stand-in CA that the stand-in images trust
 * (testbench/docker/ca.sh), and the bytes go on to the stand-in's plain HTTP port. The pack sends a
 * token over plain http to loopback only, so a stand-in reached by the containers needs https, as the real
 * Pipedrive and gateways have.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';

import { REPO_ROOT } from './n8n';

export interface TlsFront {
	/** https://HOST:PORT, as the containers call it. */
	baseUrl: string;
	close(): Promise<void>;
}

export async function startTlsFront(options: {
	host: string;
	targetPort: number;
	/** Told the client's address of each connection (which container called). */
	onConnection?: (address: string) => void;
}): Promise<TlsFront> {
	const dir = mkdtempSync(join(tmpdir(), 'cr-tls-'));
	const made = spawnSync(
		'bash',
		[join(REPO_ROOT, 'testbench/docker/ca.sh'), 'server', dir, options.host],
		{ encoding: 'utf8' },
	);
	if (made.status !== 0) throw new Error(`stand-in certificate: ${made.stderr}`);
	const key = readFileSync(join(dir, 'server.key'));
	const cert = readFileSync(join(dir, 'server.crt'));
	rmSync(dir, { recursive: true, force: true });
	const sockets = new Set<Socket>();
	const server: Server = createServer({ key, cert }, (client) => {
		options.onConnection?.(String(client.remoteAddress ?? '').replace(/^::ffff:/, ''));
		const upstream = connect(options.targetPort, '127.0.0.1');
		sockets.add(client).add(upstream);
		const drop = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};
		client.on('error', drop).on('close', drop);
		upstream.on('error', drop).on('close', drop);
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, options.host, () => resolve());
	});
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	return {
		baseUrl: `https://${options.host}:${port}`,
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				server.close(() => resolve());
			}),
	};
}
