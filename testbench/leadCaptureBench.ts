import { S3Archive } from '../lib/archive/archive';
import { createS3Client } from '../lib/s3/client';
import { startN8n, type N8nInstance } from './n8n';
import { freePort } from './ports';
import { startS3Server, type S3Server } from './s3';
import { startGatewayStandIn, type GatewayStandIn } from './standins/gateways';
import { GATEWAY_KEYS, gatewayCredentials, linksCredential, s3Credential } from './credentials';
import { exportedWorkflowForTest } from './workflows';

/** The exported lead capture workflow in a real n8n, with the S3 server and the gateway stand-ins. */
export interface LeadCaptureBench {
	n8n: N8nInstance;
	s3: S3Server;
	gateways: GatewayStandIn;
	gatewayPort: number;
	archive: S3Archive;
	restartGateways(): Promise<void>;
	stop(): Promise<void>;
}

export async function startLeadCaptureBench(
	extraWorkflows: string[] = [],
): Promise<LeadCaptureBench> {
	const s3 = await startS3Server();
	await s3.createBucket('leads');
	const gatewayPort = await freePort();
	const keys = {
		stripe: GATEWAY_KEYS.stripe,
		mercadopago: GATEWAY_KEYS.mercadopago,
		asaas: GATEWAY_KEYS.asaas,
		port: gatewayPort,
	};
	const bench = { gateways: await startGatewayStandIn(keys) };
	const n8nPort = await freePort();
	const n8n = await startN8n({
		port: n8nPort,
		workflows: [
			exportedWorkflowForTest('checkout-lead-capture.json', { prefix: 'leads' }),
			...extraWorkflows,
		],
		credentials: [
			s3Credential(s3.settings('leads')),
			...gatewayCredentials(bench.gateways.baseUrl),
			linksCredential(`http://127.0.0.1:${n8nPort}/webhook/checkout/pay`),
		],
		ready: async (instance) =>
			(
				await fetch(instance.webhookUrl('checkout/lead'), {
					method: 'POST',
					headers: { accept: 'application/json' },
				})
			).status === 422,
	});
	const client = createS3Client(s3.settings('leads'));
	return {
		n8n,
		s3,
		get gateways() {
			return bench.gateways;
		},
		gatewayPort,
		archive: new S3Archive(client, { bucket: 'leads', prefix: 'leads' }),
		async restartGateways() {
			bench.gateways = await startGatewayStandIn(keys);
		},
		async stop() {
			await n8n.stop();
			client.destroy();
			await bench.gateways.close().catch(() => undefined);
			await s3.destroy();
		},
	};
}
