/**
 * A loopback TCP proxy in front of a real server, so that a test can cut the connections between our
 * code and the broker (an outage as the client sees it) without touching the shared broker itself.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpProxy {
	port: number;
	/** Drops every open connection and refuses new ones until `restore`. */
	cut(): void;
	/** Keeps the connections open but stops passing the server's bytes to the client (a broker that goes silent). */
	freeze(): void;
	thaw(): void;
	restore(): void;
	close(): Promise<void>;
}

export async function startTcpProxy(
	targetPort: number,
	targetHost = '127.0.0.1',
): Promise<TcpProxy> {
	const sockets = new Set<Socket>();
	let refusing = false;
	let frozen = false;
	const server: Server = createServer((client) => {
		if (refusing) {
			client.destroy();
			return;
		}
		const upstream = connect(targetPort, targetHost);
		sockets.add(client).add(upstream);
		const drop = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};
		client.on('error', drop).on('close', drop);
		upstream.on('error', drop).on('close', drop);
		client.pipe(upstream);
		upstream.on('data', (chunk: Buffer) => {
			if (!frozen) client.write(chunk);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	return {
		port,
		cut() {
			refusing = true;
			for (const s of sockets) s.destroy();
			sockets.clear();
		},
		restore() {
			refusing = false;
		},
		freeze() {
			frozen = true;
		},
		thaw() {
			frozen = false;
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				server.close(() => resolve());
			}),
	};
}
