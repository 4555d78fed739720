/**
 * An HTTP proxy in front of the S3 server that behaves like AWS S3 and MinIO where s3rver does not, and
 * injects the faults a real network has:
 *  - conditional writes: a PUT with `If-None-Match: *` on a key that exists gets 412 PreconditionFailed
 *    (written before the bench's s3rver learnt conditional writes; it now checks them itself too);
 *  - denied requests: 403 AccessDenied for chosen keys (an object whose GET is always refused);
 *  - lost answers: a chosen request is carried out by the server, then the client's connection is cut
 *    before the answer reaches it (what a reset or a proxy's 502 does after the work was done).
 * Requests are forwarded byte for byte with their Host header, so SigV4 signatures stay valid.
 */
import {
	createServer,
	request as httpRequest,
	type IncomingMessage,
	type Server,
	type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { HeadObjectCommand } from '@aws-sdk/client-s3';

import { createS3Client, isNotFound, type S3Settings } from '../lib/s3/client';

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
	/** From now on, each request matching `match` loses its answer (after the work) with probability `rate`. */
	loseAnswersRandomly(
		match: (req: S3RequestInfo) => boolean,
		rate: number,
		random: () => number,
	): void;
	/**
	 * From now on, requests matching `match` get 403 AccessDenied without reaching the server, as for an
	 * object encrypted with a KMS key the credential may not use. Returns a function that lifts the denial.
	 */
	deny(match: (req: S3RequestInfo) => boolean): () => void;
	/** Answers lost so far. */
	readonly lostAnswers: number;
	/** Requests the proxy could not pass on to the server, by error code (a problem of the bench, not a fault it injects). */
	readonly forwardErrors: Record<string, number>;
	/** Requests seen, in order (for assertions on retries). */
	seen: S3RequestInfo[];
	/** 412s the proxy answered for `If-None-Match: *`. */
	preconditionFailures: number;
	/** While true, S3 is unreachable: open connections are reset and new ones closed at once. */
	unreachable: boolean;
	/** Connections refused while unreachable. */
	readonly refusedConnections: number;
	close(): Promise<void>;
}

export async function startS3FaultProxy(settings: S3Settings): Promise<S3FaultProxy> {
	const upstream = new URL(settings.endpoint!);
	const rules: Array<{ match: (req: S3RequestInfo) => boolean; left: number }> = [];
	const seen: S3RequestInfo[] = [];
	const sockets = new Set<Socket>();
	const state = { preconditionFailures: 0, lostAnswers: 0 };
	let randomLoss:
		{ match: (req: S3RequestInfo) => boolean; rate: number; random: () => number } | undefined;
	const conditional = new Map<string, Promise<void>>();
	const forwardErrors: Record<string, number> = {};
	const denials = new Set<(req: S3RequestInfo) => boolean>();

	const forward = (req: IncomingMessage, body: Buffer, method = req.method ?? 'GET') =>
		new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>(
			(resolve, reject) => {
				const out = httpRequest(
					{
						host: upstream.hostname,
						port: upstream.port,
						method,
						path: req.url,
						headers: req.headers,
					},
					(res) => {
						const chunks: Buffer[] = [];
						res.on('data', (c: Buffer) => chunks.push(c));
						res.on('end', () =>
							resolve({
								status: res.statusCode ?? 502,
								headers: res.headers,
								body: Buffer.concat(chunks),
							}),
						);
						res.on('error', reject);
					},
				);
				out.on('error', reject);
				out.end(method === 'HEAD' ? undefined : body);
			},
		);

	// Whether the key exists, asked of the server directly with a signed HEAD (s3rver checks signatures).
	const client = createS3Client(settings);
	const exists = async (path: string): Promise<boolean> => {
		const [, bucket, ...key] = path.split('/');
		try {
			await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key.join('/') }));
			return true;
		} catch (error) {
			if (isNotFound(error)) return false;
			throw error;
		}
	};

	const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			void (async () => {
				const body = Buffer.concat(chunks);
				const info: S3RequestInfo = {
					method: req.method ?? 'GET',
					path: decodeURIComponent((req.url ?? '/').split('?')[0]),
					headers: req.headers,
				};
				seen.push(info);
				if ([...denials].some((denied) => denied(info))) {
					res.writeHead(403, { 'content-type': 'application/xml' });
					res.end(
						'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
					);
					return;
				}
				try {
					let answer: Awaited<ReturnType<typeof forward>>;
					if (info.method === 'PUT' && req.headers['if-none-match'] === '*') {
						// Check and write as one step per key, as S3 does: conditional writes to one key take turns.
						const previous = conditional.get(info.path) ?? Promise.resolve();
						let release!: () => void;
						const turn = new Promise<void>((resolve) => (release = resolve));
						conditional.set(
							info.path,
							previous.then(() => turn),
						);
						await previous;
						try {
							if (await exists(info.path)) {
								state.preconditionFailures++;
								res.writeHead(412, { 'content-type': 'application/xml' });
								res.end(
									'<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
								);
								return;
							}
							answer = await forward(req, body);
						} finally {
							release();
						}
					} else answer = await forward(req, body);
					const rule = rules.find((r) => r.left > 0 && r.match(info));
					if (
						rule ||
						(randomLoss && randomLoss.match(info) && randomLoss.random() < randomLoss.rate)
					) {
						if (rule) rule.left--;
						state.lostAnswers++;
						req.socket.destroy(); // the work is done; the answer never arrives
						return;
					}
					res.writeHead(answer.status, answer.headers);
					res.end(answer.body);
				} catch (error) {
					const code = (error as { code?: string }).code ?? (error as Error).message;
					forwardErrors[code] = (forwardErrors[code] ?? 0) + 1;
					req.socket.destroy();
				}
			})();
		});
	});
	let unreachable = false;
	let refused = 0;
	server.on('connection', (socket: Socket) => {
		if (unreachable) {
			refused++;
			socket.destroy();
			return;
		}
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
		deny(match) {
			denials.add(match);
			return () => void denials.delete(match);
		},
		loseAnswersRandomly(match, rate, random) {
			randomLoss = { match, rate, random };
		},
		get lostAnswers() {
			return state.lostAnswers;
		},
		get unreachable() {
			return unreachable;
		},
		set unreachable(value: boolean) {
			unreachable = value;
			if (value) for (const socket of sockets) socket.destroy();
		},
		get refusedConnections() {
			return refused;
		},
		forwardErrors,
		seen,
		get preconditionFailures() {
			return state.preconditionFailures;
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				client.destroy();
				server.close(() => resolve());
			}),
	};
}
