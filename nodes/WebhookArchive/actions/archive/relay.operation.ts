import {
	updateDisplayOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { connectAmqp } from '../../../../lib/amqp/connection';
import { ConfirmPublisher } from '../../../../lib/amqp/confirmPublisher';
import { declareTopology } from '../../../../lib/amqp/topology';
import { Lease } from '../../../../lib/archive/lease';
import { RelayError, relayPending, type RelayLease } from '../../../../lib/archive/relay';
import { DEFAULT_TRIES_BEFORE_ASIDE, RelayFailures } from '../../../../lib/archive/aside';
import { leaseKey } from '../../../../lib/archive/keys';
import { conditionalWritesHonoured, probeConditionalWrites } from '../../../../lib/s3/conditional';
import { ConditionalLease } from '../../../../lib/shared/record';
import { S3ConditionalStore } from '../../../../lib/shared/store';
import type { S3Archive } from '../../../../lib/archive/archive';
import { partitionKeyOf } from '../../../../lib/checkout/message';
import { runOnce } from '../../../shared/operation';
import { readTopology, topologyFields } from '../../../shared/topology';
import { nodeAmqpSettings } from '../../../shared/transport/amqp';
import { s3StoreId, withNodeArchive } from '../../../shared/transport/s3';
import { limitFields, readLimits } from '../common.descriptions';

const properties: INodeProperties[] = [
	...topologyFields,
	...limitFields,
	{
		displayName: 'Tries Before Moving Aside',
		name: 'triesBeforeAside',
		type: 'number',
		default: DEFAULT_TRIES_BEFORE_ASIDE,
		typeOptions: { minValue: 1 },
		description:
			'An object that keeps failing on its own (its GET refused, its message refused by the broker) is skipped and tried again on the next runs; after this many tries it is moved aside with its reason (List → Moved Aside) and skipped until Re-Drive brings it back. The other objects go on meanwhile.',
	},
	{
		displayName: 'Use Lease',
		name: 'useLease',
		type: 'boolean',
		default: true,
		description:
			'Whether to take a lease in the bucket first, so that overlapping runs (a schedule firing twice, two n8n mains) do not relay at the same time',
	},
];

export const description = updateDisplayOptions(
	{ show: { resource: ['archive'], operation: ['relay'] } },
	properties,
);

/** Lease timing: renewed every page, so the TTL only has to outlast one page plus slack. */
const LEASE_TTL_MS = 60_000;
const LEASE_SETTLE_MS = 750;

/**
 * The relay's lease: one conditional PUT where the store honours conditional writes (found out once per
 * process and store), else the write-wait-read lease that needs none (lease.ts).
 */
async function relayLease(archive: S3Archive, storeId: string): Promise<RelayLease> {
	const honoured = await conditionalWritesHonoured(
		storeId,
		async () =>
			await probeConditionalWrites(archive.s3, archive.bucket, leaseKey(archive.prefix, 'probe-')),
	);
	if (honoured)
		return new ConditionalLease(
			new S3ConditionalStore(archive.s3, archive.bucket, '', () => archive.encryption()),
			leaseKey(archive.prefix, 'relay-conditional'),
			LEASE_TTL_MS,
		);
	return new Lease(archive.leaseStore('relay'), { ttlMs: LEASE_TTL_MS, settleMs: LEASE_SETTLE_MS });
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { topology, declare, partitions } = readTopology(
		(name, fallback) => this.getNodeParameter(name, 0, fallback) as typeof fallback,
	);
	const limits = readLimits(this);
	const useLease = this.getNodeParameter('useLease', 0, true) as boolean;
	const triesBeforeAside = Math.max(
		1,
		Number(this.getNodeParameter('triesBeforeAside', 0, DEFAULT_TRIES_BEFORE_ASIDE)),
	);
	const run = async () =>
		withNodeArchive(this, async (archive) => {
			const connection = await connectAmqp(await nodeAmqpSettings(this));
			try {
				if (declare) await declareTopology(connection, topology, partitions);
				const publisher = await ConfirmPublisher.open(connection);
				const lease = useLease ? await relayLease(archive, await s3StoreId(this)) : undefined;
				try {
					const report = await relayPending(
						archive,
						publisher,
						{ ...topology, partitions, partitionKey: partitionKeyOf },
						limits,
						lease,
						Date.now,
						new RelayFailures(archive, triesBeforeAside),
					);
					for (const aside of report.movedAside ?? [])
						this.logger.warn(
							`Relay: ${aside.key} moved aside after ${aside.tries} tries: ${aside.reason}`,
						);
					return [{ json: { ...report } }];
				} finally {
					await publisher.close();
				}
			} finally {
				await connection.close().catch(() => undefined);
			}
		});
	// A relay that stops half way reports what it published before the error.
	return [
		await runOnce(this, run, (error) =>
			error instanceof RelayError ? { ...error.report } : undefined,
		),
	];
}
