/**
 * An HTTP proxy in front of the S3 server that behaves like AWS S3 and MinIO where s3rver does not, and
 * injects the faults a real network has:
 *  - conditional writes: a PUT with `If-None-Match: *` on a key that exists gets 412 PreconditionFailed
 *    (s3rver ignores the header);
 *  - lost answers: a chosen request is carried out by the server, then the client's connection is cut
 *    before the answer reaches it (what a reset or a proxy's 502 does after the work was done).
 * Requests are forwarded byte for byte with their Host header, so SigV4 signatures stay valid.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface S3RequestInfo {
	method: string;
	/** Bucket and key, decoded: `/bucket/prefix/ids/evt_1`. */
	path: string;
	headers: IncomingMessage['headers'];
}

export interface S3FaultProxy {
	endpoint: string;
	/** The next `times` requests matching `match` are done by the server, and their answer is lost. */
	loseAnswers(match: (req: S3RequestInfo) => boolean, times?: number): void;
	/** Requests seen, in order (for assertions on retries). */
	seen: S3RequestInfo[];
	/** 412s the proxy answered for `If-None-Match: *`. */
	preconditionFailures: number;
	close(): Promise<void>;
}

export async function startS3FaultProxy(upstreamEndpoint: string): Promise<S3FaultProxy> {
	const upstream = new URL(upstreamEndpoint);
	const rules: Array<{ match: (req: S3RequestInfo) => boolean; left: number }> = [];
	const seen: S3RequestInfo[] = [];
	const sockets = new Set<Socket>();
	const state = { preconditionFailures: 0 };

	const forward = (req: IncomingMessage, body: Buffer, method = req.method ?? 'GET') =>
		new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
			const out = httpRequest({ host: upstream.hostname, port: upstream.port, method, path: req.url, headers: req.headers }, (res) => {
				const chunks: Buffer[] = [];
				res.on('data', (c: Buffer) => chunks.push(c));
				res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
				res.on('error', reject);
			});
			out.on('error', reject);
			out.end(method === 'HEAD' ? undefined : body);
		});

	const exists = (req: IncomingMessage) =>
		new Promise<boolean>((resolve, reject) => {
			// An unsigned HEAD of the same path: s3rver answers it without checking a signature for HEAD? It
			// does check; so reuse the request's own headers minus the body ones, which SigV4 for HEAD ignores.
			const headers = { ...req.headers };
			delete headers['content-length'];
			const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: 'GET', path: req.url, headers: { host: headers.host, authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/x', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode === 200));
			});
			out.on('error', reject);
			out.end();
		});

	const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			void (async () => {
				const body = Buffer.concat(chunks);
				const info: S3RequestInfo = { method: req.method ?? 'GET', path: decodeURIComponent((req.url ?? '/').split('?')[0]), headers: req.headers };
				seen.push(info);
				try {
					if (info.method === 'PUT' && req.headers['if-none-match'] === '*' && (await exists(req))) {
						state.preconditionFailures++;
						res.writeHead(412, { 'content-type': 'application/xml' });
						res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>');
						return;
					}
					const answer = await forward(req, body);
					const rule = rules.find((r) => r.left > 0 && r.match(info));
					if (rule) {
						rule.left--;
						req.socket.destroy(); // the work is done; the answer never arrives
						return;
					}
					res.writeHead(answer.status, answer.headers);
					res.end(answer.body);
				} catch {
					req.socket.destroy();
				}
			})();
		});
	});
	server.on('connection', (socket: Socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	return {
		endpoint: `http://127.0.0.1:${port}`,
		loseAnswers(match, times = 1) {
			rules.push({ match, left: times });
		},
		seen,
		get preconditionFailures() {
			return state.preconditionFailures;
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				server.close(() => resolve());
			}),
	};
}
