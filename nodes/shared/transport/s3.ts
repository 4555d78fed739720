/**
 * The Checkout S3 credential → the pack's archive. The only place where an n8n credential becomes S3
 * settings, so the fast-intake trigger, the Webhook Archive and the Checkout Form connect the same way.
 */
import type { ICredentialDataDecryptedObject, IExecuteFunctions } from 'n8n-workflow';

import { type MarkerWrites, S3Archive } from '../../../lib/archive/archive';
import { LeadRegistry } from '../../../lib/archive/leadRegistry';
import { createS3Client, type S3Settings, type ServerSideEncryption } from '../../../lib/s3/client';
import { S3ObjectWriter } from '../../../lib/s3/objectWriter';

export const S3_CREDENTIAL = 'checkoutS3Api';

export function s3SettingsFromCredential(data: ICredentialDataDecryptedObject): S3Settings {
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

export interface OpenArchive {
	/** The inbox (lib/archive/archive.ts). */
	archive: S3Archive;
	/** What the archive knows of leads: revisions, closed pay links (lib/archive/leadRegistry.ts). */
	leads: LeadRegistry;
	/** Ends the S3 client's sockets; call it when the operation is done. */
	close: () => void;
}

export function openArchive(
	settings: S3Settings,
	prefix: string,
	log?: (message: string) => void,
): OpenArchive {
	const client = createS3Client(settings);
	const writer = new S3ObjectWriter(settings);
	const archive = new S3Archive(client, {
		writer,
		bucket: settings.bucket,
		prefix,
		serverSideEncryption: settings.serverSideEncryption,
		kmsKeyId: settings.kmsKeyId,
		storeId: storeIdOf(settings),
		onMarkerWrites: log && ((mode) => log(markerWritesLine(settings.bucket, mode))),
	});
	return {
		archive,
		leads: new LeadRegistry(archive),
		close: () => {
			client.destroy();
			writer.destroy();
		},
	};
}

/** The log line that says how the intake writes its id markers on a store (once per process and archive). */
export function markerWritesLine(bucket: string, mode: MarkerWrites): string {
	return mode === 'conditional'
		? `Checkout archive (bucket "${bucket}"): the store honours conditional writes; each event is stored and checked for duplicates with one conditional write of its id marker.`
		: `Checkout archive (bucket "${bucket}"): the store ignores conditional writes; each event's id marker is read before it is written (one more request per event, and two concurrent copies of one event can both be stored: the relay drops the later one).`;
}

/** Names the store behind an executing node's S3 credential (what lib/s3/conditional probes once). */
export async function s3StoreId(ctx: IExecuteFunctions): Promise<string> {
	return storeIdOf(s3SettingsFromCredential(await ctx.getCredentials(S3_CREDENTIAL)));
}

export function storeIdOf(settings: S3Settings): string {
	return `${settings.endpoint ?? 'aws'} ${settings.bucket}`;
}

/** The archive of an executing node: its S3 credential and its "Key Prefix" parameter. */
export async function openNodeArchive(ctx: IExecuteFunctions): Promise<OpenArchive> {
	const settings = s3SettingsFromCredential(await ctx.getCredentials(S3_CREDENTIAL));
	return openArchive(settings, ctx.getNodeParameter('prefix', 0, 'checkout') as string);
}

/** Runs `use` with the executing node's archive (its inbox and lead registry) and closes the client after. */
export async function withNodeArchive<T>(
	ctx: IExecuteFunctions,
	use: (archive: S3Archive, leads: LeadRegistry) => Promise<T>,
): Promise<T> {
	const { archive, leads, close } = await openNodeArchive(ctx);
	try {
		return await use(archive, leads);
	} finally {
		close();
	}
}

/**
 * One archive per configuration and process, kept open, for webhook handlers: a client per request would
 * cost a TLS handshake each time. Holds no state but sockets, so it is safe in every process of queue mode.
 */
const cachedArchives = new Map<string, Omit<OpenArchive, 'close'>>();
export function cachedArchive(
	settings: S3Settings,
	prefix: string,
	log?: (message: string) => void,
): Omit<OpenArchive, 'close'> {
	const key = JSON.stringify([settings, prefix]);
	let archive = cachedArchives.get(key);
	if (!archive) {
		const { close: _keptOpen, ...open } = openArchive(settings, prefix, log);
		archive = open;
		cachedArchives.set(key, archive);
	}
	return archive;
}
