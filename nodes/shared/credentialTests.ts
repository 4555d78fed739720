/**
 * Credential tests of the credentials several nodes share (S3: Webhook Archive, Checkout Form, the fast
 * intake; RabbitMQ: Webhook Archive, the queue trigger). The Webhook Archive node names them (testedBy), and
 * n8n runs a credential's test from whichever node declares it.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { connectAmqp } from '../../lib/amqp/connection';
import { describeS3Error } from '../../lib/archive/archive';
import { createS3Client } from '../../lib/s3/client';
import { amqpSettingsFromCredential } from './transport/amqp';
import { s3SettingsFromCredential } from './transport/s3';

/** Lists one key of the bucket: proves endpoint, keys, bucket and path style together. */
export async function checkoutS3ApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const settings = s3SettingsFromCredential(credential.data ?? {});
	const client = createS3Client(settings);
	try {
		await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, MaxKeys: 1 }));
		return { status: 'OK', message: `Bucket "${settings.bucket}" is reachable` };
	} catch (error) {
		return {
			status: 'Error',
			message: `Could not list bucket "${settings.bucket}": ${describeS3Error(error)}`,
		};
	} finally {
		client.destroy();
	}
}

/** Opens and closes one AMQP connection. */
export async function checkoutRabbitMqApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const connection = await connectAmqp(amqpSettingsFromCredential(credential.data ?? {}));
		await connection.close();
		return { status: 'OK', message: 'Connected to RabbitMQ' };
	} catch (error) {
		return { status: 'Error', message: error instanceof Error ? error.message : String(error) };
	}
}
