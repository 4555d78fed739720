/**
 * The credential tests n8n runs when a user saves an archive credential, against the real S3 server and
 * the real broker: a working credential says OK, a wrong one says why, without echoing the secret.
 */
import type { ICredentialTestFunctions } from 'n8n-workflow';

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
		message: 'Bucket "credtest" is reachable',
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
