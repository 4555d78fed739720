/**
 * What the archive knows of leads, beside the inbox: the revisions a lead was stored under (a buyer who
 * corrects an Elementor form posts the same lead again with other data) and whether its checkout was paid
 * (its pay links then open nothing: lib/links). Reads the inbox's id markers; writes its own `closed/`
 * markers. No n8n imports.
 */
import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';

import { isNotFound } from '../s3/client';
import { ArchiveWriteError, describeS3Error, type ArchivedObject, type S3Archive } from './archive';
import { closedMarkerKey, idMarkerPrefix } from './keys';

export class LeadRegistry {
	constructor(private readonly inbox: S3Archive) {}

	private get s3() {
		return this.inbox.s3;
	}

	/**
	 * The newest stored revision of a lead: its revisions are stored as `{lead id}.{revision}`, older leads
	 * as `{lead id}`. Newest by receive time, from the id markers (a lead has a handful of revisions at most).
	 */
	async findLatestRevision(leadId: string): Promise<ArchivedObject | undefined> {
		const stem = idMarkerPrefix(this.inbox.prefix, leadId);
		const res = await this.s3.send(
			new ListObjectsV2Command({ Bucket: this.inbox.bucket, Prefix: stem, MaxKeys: 100 }),
		);
		const markerKeys = (res.Contents ?? [])
			.map((o) => o.Key ?? '')
			.filter((k) => k === stem || k.startsWith(`${stem}.`));
		const markers = await Promise.all(markerKeys.map(async (k) => await this.inbox.readMarker(k)));
		const newest = markers
			.filter((m): m is NonNullable<typeof m> => !!m)
			.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0));
		for (const marker of newest) {
			const found = await this.inbox.findStored(marker.key);
			if (found) return found;
		}
		return undefined;
	}

	/**
	 * Records that a lead's checkout was paid: from then on its pay links open nothing (lib/links). Written
	 * by the intake that archived the paid event, before it answers the gateway; idempotent.
	 */
	async closeLead(leadId: string, by: { eventId: string; occurredAt?: string }): Promise<void> {
		try {
			await this.inbox.writeObject({
				key: closedMarkerKey(this.inbox.prefix, leadId),
				body: Buffer.from(
					JSON.stringify({
						leadId,
						eventId: by.eventId,
						occurredAt: by.occurredAt,
						closedAt: new Date().toISOString(),
					}),
				),
				contentType: 'application/json',
			});
		} catch (error) {
			throw new ArchiveWriteError(
				`S3 did not confirm closing the checkout of lead ${leadId}: ${describeS3Error(error)}`,
				error,
			);
		}
	}

	async isLeadClosed(leadId: string): Promise<boolean> {
		try {
			await this.s3.send(
				new HeadObjectCommand({
					Bucket: this.inbox.bucket,
					Key: closedMarkerKey(this.inbox.prefix, leadId),
				}),
			);
			return true;
		} catch (error) {
			if (isNotFound(error)) return false;
			throw error;
		}
	}
}
