/**
 * The end-to-end suites' one set-up: the real n8n running the built pack and the given workflows, beside
 * the parts a suite asks for (the S3 server with its bucket, this run's own queues on the machine's
 * RabbitMQ, the Pipedrive and gateway stand-ins), with the credentials of those parts; and one tear-down
 * that stops what was started, in reverse order, and deletes only this run's queues.
 *
 * n8n's port is reserved first: the gateway stand-ins post their notifications to n8n, and the links
 * credential names n8n's pay URL, so both are known before anything starts.
 */
import type { ChannelModel } from 'amqplib';

import type { S3Archive } from '../lib/archive/archive';
import type { Topology } from '../lib/amqp/topology';
import {
	GATEWAY_KEYS,
	gatewayCredentials,
	linksCredential,
	pipedriveCredential,
	rabbitCredential,
	s3Credential,
} from './credentials';
import { startN8n, type CredentialSpec, type N8nInstance, type StartOptions } from './n8n';
import { freePort } from './ports';
import { connectBroker, deleteTopology } from './rabbitmq';
import { startS3Server, type S3Server } from './s3';
import {
	startGatewayStandIn,
	type GatewayStandIn,
	type GatewayStandInOptions,
} from './standins/gateways';
import { startPipedriveStandIn, type PipedriveStandIn } from './standins/pipedrive';

/** What a suite needs beside n8n. */
export interface StackParts {
	/** The S3 server with this bucket; with `prefix`, an archive client on it (`stack.archive`). */
	s3?: { bucket: string; prefix?: string };
	/** A connection to the machine's RabbitMQ; this topology (the run's own names) is deleted at the end. */
	topology?: Topology;
	pipedrive?: boolean;
	/**
	 * The gateway stand-ins; `notify` gives the n8n webhook paths Stripe and Asaas post their notifications
	 * to (none when not given).
	 */
	gateways?: boolean | { notify?: { stripe?: string; asaas?: string }; port?: number };
	/** The links credential, with n8n's own pay URL (`ownPayUrl`) or this one. */
	links?: 'ownPayUrl' | string;
}

/** What the workflows and credentials of a suite are made from (a part not asked for throws when read). */
export interface StackContext {
	readonly port: number;
	readonly s3: S3Server;
	readonly pd: PipedriveStandIn;
	readonly gateways: GatewayStandIn;
	readonly broker: ChannelModel;
}

export interface StackOptions extends StackParts {
	workflows: string[] | ((context: StackContext) => string[]);
	/** Credentials beside those of the parts asked for. */
	credentials?: (context: StackContext) => CredentialSpec[];
	env?: StartOptions['env'] | ((context: StackContext) => StartOptions['env']);
	/** Resolves true once n8n answers as the suite expects; the parts are up by then (its queues, say). */
	ready?: (n8n: N8nInstance, context: StackContext) => Promise<boolean>;
	inspectPort?: number;
}

interface StartedParts {
	s3?: S3Server;
	archive?: { archive: S3Archive; close: () => void };
	broker?: ChannelModel;
	topology?: Topology;
	pd?: PipedriveStandIn;
	gateways?: GatewayStandIn;
	/** What the gateway stand-ins were started with, to start them again alike. */
	gatewayKeys?: GatewayStandInOptions;
}

/** The started stack. A part the suite did not ask for throws when it is read, naming it. */
export class E2eStack {
	private constructor(
		readonly n8n: N8nInstance,
		readonly port: number,
		private readonly parts: StartedParts,
	) {}

	/** Starts the parts, then n8n; on a failure, stops what did start. */
	static async start(options: StackOptions): Promise<E2eStack> {
		const port = await freePort();
		const started: StartedParts = {};
		try {
			if (options.s3) {
				started.s3 = await startS3Server();
				await started.s3.createBucket(options.s3.bucket);
				if (options.s3.prefix !== undefined)
					started.archive = started.s3.openArchive(options.s3.bucket, options.s3.prefix);
			}
			if (options.topology) {
				started.broker = await connectBroker();
				started.topology = options.topology;
			}
			if (options.pipedrive) started.pd = await startPipedriveStandIn();
			if (options.gateways) {
				started.gatewayKeys = gatewayKeys(options, port);
				started.gateways = await startGatewayStandIn(started.gatewayKeys);
			}
			const context: StackContext = {
				port,
				get s3() {
					return required(started.s3, 's3');
				},
				get pd() {
					return required(started.pd, 'pipedrive');
				},
				get gateways() {
					return required(started.gateways, 'gateways');
				},
				get broker() {
					return required(started.broker, 'topology');
				},
			};
			const { ready } = options;
			const n8n = await startN8n({
				port,
				inspectPort: options.inspectPort,
				workflows:
					typeof options.workflows === 'function' ? options.workflows(context) : options.workflows,
				credentials: [
					...partCredentials(options, started, port),
					...(options.credentials?.(context) ?? []),
				],
				env: typeof options.env === 'function' ? options.env(context) : options.env,
				ready: ready && (async (instance) => await ready(instance, context)),
			});
			return new E2eStack(n8n, port, started);
		} catch (error) {
			await stopParts(started);
			throw error;
		}
	}

	get s3(): S3Server {
		return required(this.parts.s3, 's3');
	}
	get archive(): S3Archive {
		return required(this.parts.archive, 's3.prefix').archive;
	}
	get broker(): ChannelModel {
		return required(this.parts.broker, 'topology');
	}
	get pd(): PipedriveStandIn {
		return required(this.parts.pd, 'pipedrive');
	}
	get gateways(): GatewayStandIn {
		return required(this.parts.gateways, 'gateways');
	}

	/** Starts the gateway stand-ins again (after a test closed them), as they were started (same port when one was given). */
	async restartGateways(): Promise<GatewayStandIn> {
		this.parts.gateways = await startGatewayStandIn(required(this.parts.gatewayKeys, 'gateways'));
		return this.parts.gateways;
	}

	/** Stops n8n, then the parts; safe to call on a stack that is partly stopped. */
	async stop(): Promise<void> {
		await this.n8n.stop();
		await stopParts(this.parts);
	}
}

function required<T>(part: T | undefined, asked: string): T {
	if (part === undefined) throw new Error(`the stack was started without "${asked}"`);
	return part;
}

function gatewayKeys(options: StackParts, n8nPort: number): GatewayStandInOptions {
	const asked = typeof options.gateways === 'object' ? options.gateways : {};
	const notify = (path?: string) =>
		path ? { webhookUrl: `http://127.0.0.1:${n8nPort}/webhook/${path}` } : {};
	return {
		stripe: { ...GATEWAY_KEYS.stripe, ...notify(asked.notify?.stripe) },
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: { ...GATEWAY_KEYS.asaas, ...notify(asked.notify?.asaas) },
		...(asked.port ? { port: asked.port } : {}),
	};
}

function partCredentials(
	options: StackParts,
	{ s3, pd, gateways }: StartedParts,
	port: number,
): CredentialSpec[] {
	return [
		...(s3 && options.s3 ? [s3Credential(s3.settings(options.s3.bucket))] : []),
		...(options.topology ? [rabbitCredential()] : []),
		...(gateways ? gatewayCredentials(gateways.baseUrl) : []),
		...(pd ? [pipedriveCredential(pd.baseUrl, pd.token)] : []),
		...(options.links
			? [
					linksCredential(
						options.links === 'ownPayUrl'
							? `http://127.0.0.1:${port}/webhook/checkout/pay`
							: options.links,
					),
				]
			: []),
	];
}

async function stopParts(parts: StartedParts): Promise<void> {
	parts.archive?.close();
	await parts.gateways?.close().catch(() => undefined);
	await parts.pd?.close().catch(() => undefined);
	if (parts.broker) {
		if (parts.topology) await deleteTopology(parts.broker, parts.topology);
		await parts.broker.close().catch(() => undefined);
	}
	await parts.s3?.destroy();
}
