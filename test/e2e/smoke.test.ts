/**
 * The smoke test of the bench: a workflow "Webhook → Webhook Archive (a node of this pack) → Respond to
 * Webhook" runs in the real n8n, and the answer carries what the pack's node produced, which is also in
 * the real S3 server byte for byte. Without the pack the same workflow cannot answer (second test).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { startN8n, type N8nInstance } from '../../testbench/n8n';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { s3Credential } from '../../testbench/credentials';

jest.setTimeout(300_000);

const WORKFLOW = join(__dirname, 'workflows/smoke-store.json');
const BUCKET = 'smoke';

let s3: S3Server;
beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket(BUCKET);
});
afterAll(async () => {
	await s3?.destroy();
});

async function post(url: string, body: string, headers: Record<string, string> = {}) {
	const res = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body,
	});
	return { status: res.status, text: await res.text() };
}

describe('smoke: the pack runs inside the real n8n', () => {
	let n8n: N8nInstance | undefined;
	afterAll(async () => {
		await n8n?.stop();
	});

	it('answers a production webhook with the output of the pack node, stored byte-equal in S3', async () => {
		n8n = await startN8n({
			workflows: [WORKFLOW],
			credentials: [s3Credential(s3.settings(BUCKET))],
			ready: async (instance) =>
				(await post(instance.webhookUrl('smoke-store'), '{"id":"ready-probe"}')).text.includes(
					'"key"',
				),
		});
		const body = JSON.stringify({ id: 'evt_smoke_1', buyer: 'José da Silva', amount: 19990 });
		const res = await post(n8n.webhookUrl('smoke-store'), body, { 'x-smoke-signature': 'sig-123' });
		expect(res.status).toBe(200);
		const answer = JSON.parse(res.text);
		expect(answer).toMatchObject({
			eventId: 'evt_smoke_1',
			source: 'smoke',
			duplicate: false,
			bodyFormat: 'json',
		});
		expect(answer.sha256).toBe(createHash('sha256').update(body).digest('hex'));
		expect(answer.key).toMatch(
			/^smoke\/pending\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{13}\.[0-9a-z]{8}-evt_smoke_1\.json$/,
		);

		const { archive, close } = s3.openArchive(BUCKET, 'smoke');
		const stored = await archive.get(answer.key).finally(close);
		expect(stored.body.toString('utf8')).toBe(body);
		expect(stored.headers['x-smoke-signature']).toBe('sig-123');

		const again = JSON.parse((await post(n8n.webhookUrl('smoke-store'), body)).text);
		expect(again).toMatchObject({ duplicate: true, key: answer.key });
	});

	it('cannot answer when the pack is not installed (the test above depends on the pack)', async () => {
		await expect(
			startN8n({
				workflows: [WORKFLOW],
				credentials: [s3Credential(s3.settings(BUCKET))],
				withoutPack: true,
				ready: async (instance) =>
					(await post(instance.webhookUrl('smoke-store'), '{"id":"x"}')).text.includes('"key"'),
			}),
		).rejects.toThrow(/Unrecognized node type|not ready|cannot run/);
	});
});
