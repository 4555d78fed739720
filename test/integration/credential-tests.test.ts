/**
 * The credential tests n8n runs when a user saves an archive credential, against the real S3 server and
 * the real broker: a working credential says OK, a wrong one says why, without echoing the secret.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ICredentialTestFunctions } from 'n8n-workflow';

import { createS3Client } from '../../lib/s3/client';
import { checkoutRabbitMqApiTest, checkoutS3ApiTest } from '../../nodes/shared/credentialTests';
import { startS3Server, type S3Server } from '../../testbench/s3';

jest.setTimeout(60_000);

let s3: S3Server;
beforeAll(async () => {
	s3 = await startS3Server();
	await s3.createBucket('credtest');
});
afterAll(async () => {
	await s3?.destroy();
});

const ctx = {} as ICredentialTestFunctions;
const s3Data = (overrides: Record<string, unknown> = {}) => ({
	id: 'c',
	name: 'c',
	type: 'checkoutS3Api',
	data: {
		endpoint: s3.endpoint,
		region: 'us-east-1',
		accessKeyId: 'S3RVER',
		secretAccessKey: 'S3RVER',
		bucket: 'credtest',
		forcePathStyle: true,
		...overrides,
	},
});

it('S3: OK for a reachable bucket; a clear error for a missing bucket or a wrong key', async () => {
	expect(await checkoutS3ApiTest.call(ctx, s3Data())).toEqual({
		status: 'OK',
		message:
			'Bucket "credtest" is reachable and honours conditional writes: several n8n processes (queue mode) can share it',
	});
	const missing = await checkoutS3ApiTest.call(ctx, s3Data({ bucket: 'nope-bucket' }));
	expect(missing).toMatchObject({
		status: 'Error',
		message: expect.stringMatching(/nope-bucket.*NoSuchBucket/),
	});
	const wrongKey = await checkoutS3ApiTest.call(
		ctx,
		s3Data({ accessKeyId: 'WRONG', secretAccessKey: 'sekret-value-123' }),
	);
	expect(wrongKey.status).toBe('Error');
	expect(wrongKey.message).not.toContain('sekret-value-123');
});

it('S3: says when the store ignores conditional writes (one n8n process only), and leaves no probe object', async () => {
	const plain = await startS3Server({ conditionalWrites: false });
	try {
		await plain.createBucket('plain');
		const result = await checkoutS3ApiTest.call(ctx, {
			...s3Data({ bucket: 'plain' }),
			data: { ...s3Data().data, endpoint: plain.endpoint, bucket: 'plain' },
		});
		expect(result.status).toBe('OK');
		expect(result.message).toMatch(
			/reachable, but the store ignores conditional writes .* run only one n8n process/,
		);
		const client = createS3Client(plain.settings('plain'));
		try {
			const listed = await client.send(new ListObjectsV2Command({ Bucket: 'plain' }));
			expect(listed.Contents ?? []).toEqual([]);
		} finally {
			client.destroy();
		}
	} finally {
		await plain.destroy();
	}
});

it('RabbitMQ: OK against the broker; a clear error without the password for a wrong one', async () => {
	const data = (password: string, port = 5672) => ({
		id: 'r',
		name: 'r',
		type: 'checkoutRabbitMqApi',
		data: {
			connectWith: 'fields',
			host: '127.0.0.1',
			port,
			vhost: '/',
			username: 'guest',
			password,
			tls: false,
		},
	});
	expect(await checkoutRabbitMqApiTest.call(ctx, data('guest'))).toEqual({
		status: 'OK',
		message: 'Connected to RabbitMQ',
	});
	const wrong = await checkoutRabbitMqApiTest.call(ctx, data('not-the-password-42'));
	expect(wrong.status).toBe('Error');
	expect(wrong.message).toMatch(
		/Could not connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672/,
	);
	expect(wrong.message).not.toContain('not-the-password-42');
});
