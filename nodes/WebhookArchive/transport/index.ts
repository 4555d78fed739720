/**
 * Credentials → clients. The only place where the node turns n8n credentials into the pack's S3 and
 * AMQP settings, so the fast-intake trigger and every operation connect the same way.
 */
import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import { S3Archive } from '../../../lib/archive/archive';
import type { AmqpSettings } from '../../../lib/amqp/connection';
import { createS3Client, type S3Settings, type ServerSideEncryption } from '../../../lib/s3/client';

export function s3SettingsFrom(data: ICredentialDataDecryptedObject): S3Settings {
	return {
		endpoint: String(data.endpoint ?? '').trim() || undefined,
		region: String(data.region ?? '') || 'us-east-1',
		accessKeyId: String(data.accessKeyId ?? ''),
		secretAccessKey: String(data.secretAccessKey ?? ''),
		forcePathStyle: data.forcePathStyle === true,
		bucket: String(data.bucket ?? ''),
		serverSideEncryption: (data.serverSideEncryption as ServerSideEncryption | undefined) ?? 'none',
		kmsKeyId: String(data.kmsKeyId ?? '') || undefined,
	};
}

export function amqpSettingsFrom(data: ICredentialDataDecryptedObject): AmqpSettings {
	if (data.connectWith === 'url') return { url: String(data.url ?? '') };
	return {
		host: String(data.host ?? 'localhost'),
		port: Number(data.port ?? 5672),
		vhost: String(data.vhost ?? '/'),
		username: String(data.username ?? 'guest'),
		password: String(data.password ?? ''),
		tls: data.tls === true,
	};
}

export function openArchive(settings: S3Settings, prefix: string): { archive: S3Archive; close: () => void } {
	const client = createS3Client(settings);
	const archive = new S3Archive(client, {
		bucket: settings.bucket,
		prefix,
		serverSideEncryption: settings.serverSideEncryption,
		kmsKeyId: settings.kmsKeyId,
	});
	return { archive, close: () => client.destroy() };
}

export async function archiveFor(ctx: IExecuteFunctions): Promise<{ archive: S3Archive; close: () => void }> {
	const settings = s3SettingsFrom(await ctx.getCredentials('checkoutS3Api'));
	const prefix = ctx.getNodeParameter('prefix', 0, 'checkout') as string;
	return openArchive(settings, prefix);
}

export async function amqpSettingsFor(ctx: IExecuteFunctions): Promise<AmqpSettings> {
	return amqpSettingsFrom(await ctx.getCredentials('checkoutRabbitMqApi'));
}
