import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { connectAmqp } from '../../../lib/amqp/connection';
import { describe as describeError } from '../../../lib/archive/archive';
import { createS3Client } from '../../../lib/s3/client';
import { amqpSettingsFrom, s3SettingsFrom } from '../transport';

/** Lists one key of the bucket: proves endpoint, keys, bucket and path style together. */
export async function checkoutS3ApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const settings = s3SettingsFrom(credential.data ?? {});
	const client = createS3Client(settings);
	try {
		await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, MaxKeys: 1 }));
		return { status: 'OK', message: `Bucket "${settings.bucket}" is reachable` };
	} catch (error) {
		return { status: 'Error', message: `Could not list bucket "${settings.bucket}": ${describeError(error)}` };
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
		const connection = await connectAmqp(amqpSettingsFrom(credential.data ?? {}));
		await connection.close();
		return { status: 'OK', message: 'Connected to RabbitMQ' };
	} catch (error) {
		return { status: 'Error', message: error instanceof Error ? error.message : String(error) };
	}
}
