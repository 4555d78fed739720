import type { IncomingMessage } from 'node:http';

/** The whole request body as UTF-8 text (the stand-ins take small JSON and form bodies). */
export async function readBody(req: IncomingMessage): Promise<string> {
	const chunks: Buffer[] = [];
	for await (const chunk of req) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks).toString('utf8');
}
