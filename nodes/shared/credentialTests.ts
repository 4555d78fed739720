/**
 * Credential tests of the credentials several nodes share (S3: Webhook Archive, Checkout Form, the fast
 * intake; RabbitMQ: Webhook Archive, the queue trigger). The Webhook Archive node names them (testedBy), and
 * n8n runs a credential's test from whichever node declares it.
 */
import {
	GetBucketLifecycleConfigurationCommand,
	GetBucketVersioningCommand,
	ListObjectsV2Command,
	type S3Client,
} from '@aws-sdk/client-s3';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { connectAmqp } from '../../lib/amqp/connection';
import { describeS3Error } from '../../lib/archive/archive';
import { createS3Client } from '../../lib/s3/client';
import { conditionalWritesHonoured, probeConditionalWrites } from '../../lib/s3/conditional';
import { versioningWarning, type LifecycleRuleShape } from '../../lib/s3/versioning';
import { amqpSettingsFromCredential } from './transport/amqp';
import { s3SettingsFromCredential, storeIdOf } from './transport/s3';

/**
 * The bucket's versioning status and lifecycle rules; a store that does not answer them (s3rver: not
 * implemented; a key without the permission) counts as without versioning and without rules.
 */
async function bucketRetention(
	client: S3Client,
	bucket: string,
): Promise<{ versioning?: string; rules: LifecycleRuleShape[] }> {
	let versioning: string | undefined;
	try {
		versioning = (await client.send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status;
	} catch {
		return { rules: [] };
	}
	if (versioning !== 'Enabled' && versioning !== 'Suspended') return { versioning, rules: [] };
	try {
		const lifecycle = await client.send(
			new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }),
		);
		return { versioning, rules: lifecycle.Rules ?? [] };
	} catch {
		return { versioning, rules: [] };
	}
}

/**
 * Lists one key of the bucket (proves endpoint, keys, bucket and path style together), then says whether
 * the store honours conditional writes: the state every n8n process shares (docs/scaling.md) needs them,
 * and without them only one n8n process may run the pack. The probe writes and removes one small object.
 * A bucket that keeps old versions of what the archive deletes is refused with how to fix it.
 */
export async function checkoutS3ApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const settings = s3SettingsFromCredential(credential.data ?? {});
	const client = createS3Client(settings);
	try {
		await client.send(new ListObjectsV2Command({ Bucket: settings.bucket, MaxKeys: 1 }));
		const honoured = await conditionalWritesHonoured(
			storeIdOf(settings),
			async () => await probeConditionalWrites(client, settings.bucket, 'checkout-recovery-probe/'),
		);
		// A versioned bucket without a rule that expires old versions keeps what the archive deletes: said as
		// an error, so that it is seen (the credential still saves).
		const retention = await bucketRetention(client, settings.bucket);
		const warning = versioningWarning(settings.bucket, retention.versioning, retention.rules);
		if (warning) return { status: 'Error', message: warning };
		return {
			status: 'OK',
			message: honoured
				? `Bucket "${settings.bucket}" is reachable and honours conditional writes: several n8n processes (queue mode) can share it`
				: `Bucket "${settings.bucket}" is reachable, but the store ignores conditional writes (If-None-Match, If-Match): run only one n8n process with it (no queue mode), or use a store that honours them (AWS S3, MinIO)`,
		};
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
