import { updateDisplayOptions, NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';

import { connectAmqp } from '../../../../lib/amqp/connection';
import { ConfirmPublisher } from '../../../../lib/amqp/confirmPublisher';
import { declareTopology } from '../../../../lib/amqp/topology';
import type { S3Archive } from '../../../../lib/archive/archive';
import { Lease } from '../../../../lib/archive/lease';
import { RelayError, relayPending } from '../../../../lib/archive/relay';
import { amqpSettingsFor } from '../../transport';
import { limitFields, readLimits } from '../common.descriptions';
import { readTopology, topologyFields } from '../../../shared/topology';

const properties: INodeProperties[] = [
	...topologyFields,
	...limitFields,
	{
		displayName: 'Use Lease',
		name: 'useLease',
		type: 'boolean',
		default: true,
		description:
			'Whether to take a lease in the bucket first, so that overlapping runs (a schedule firing twice, two n8n mains) do not relay at the same time',
	},
];

export const description = updateDisplayOptions({ show: { resource: ['archive'], operation: ['relay'] } }, properties);

/** Lease timing: renewed every page, so the TTL only has to outlast one page plus slack. */
const LEASE_TTL_MS = 60_000;
const LEASE_SETTLE_MS = 750;

export async function execute(this: IExecuteFunctions, archive: S3Archive): Promise<INodeExecutionData[]> {
	const { topology, declare } = readTopology((name, fallback) => this.getNodeParameter(name, 0, fallback) as typeof fallback);
	const limits = readLimits(this);
	const useLease = this.getNodeParameter('useLease', 0, true) as boolean;
	const connection = await connectAmqp(await amqpSettingsFor(this));
	try {
		if (declare) await declareTopology(connection, topology);
		const publisher = await ConfirmPublisher.open(connection);
		const lease = useLease
			? new Lease(archive.leaseStore('relay'), { ttlMs: LEASE_TTL_MS, settleMs: LEASE_SETTLE_MS })
			: undefined;
		try {
			const report = await relayPending(archive, publisher, topology, limits, lease);
			return [{ json: { ...report }, pairedItem: { item: 0 } }];
		} finally {
			await publisher.close();
		}
	} catch (error) {
		const report = error instanceof RelayError ? error.report : undefined;
		if (this.continueOnFail()) return [{ json: { error: (error as Error).message, ...report }, pairedItem: { item: 0 } }];
		throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: 0, description: report ? JSON.stringify(report) : undefined });
	} finally {
		await connection.close().catch(() => undefined);
	}
}
