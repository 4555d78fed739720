import type { CredentialSpec } from './n8n';
import type { S3Settings } from '../lib/s3/client';

/** The credential ids the test and exported workflows reference. */
export const S3_CREDENTIAL_ID = 'crTestS3Cred0001';
export const RABBITMQ_CREDENTIAL_ID = 'crTestAmqpCred01';

export function s3Credential(settings: S3Settings, id = S3_CREDENTIAL_ID): CredentialSpec {
	return {
		id,
		name: 'Checkout S3',
		type: 'checkoutS3Api',
		data: {
			endpoint: settings.endpoint ?? '',
			region: settings.region,
			accessKeyId: settings.accessKeyId,
			secretAccessKey: settings.secretAccessKey,
			bucket: settings.bucket,
			forcePathStyle: settings.forcePathStyle,
			serverSideEncryption: 'none',
		},
	};
}

export function rabbitCredential(port = 5672, id = RABBITMQ_CREDENTIAL_ID): CredentialSpec {
	return {
		id,
		name: 'Checkout RabbitMQ',
		type: 'checkoutRabbitMqApi',
		data: {
			connectWith: 'fields',
			host: '127.0.0.1',
			port,
			vhost: '/',
			username: 'guest',
			password: 'guest',
			tls: false,
		},
	};
}

/** Gateway keys of the tests and of the local pipeline: the stand-ins accept exactly these. */
export const GATEWAY_KEYS = {
	stripe: { secretKey: 'sk_test_local_standin', webhookSecret: 'whsec_local_standin' },
	mercadopago: {
		accessToken: 'TEST-local-standin-token',
		webhookSecret: 'mp-local-standin-secret',
	},
	asaas: {
		apiKey: '$aact_local_standin',
		webhookToken: 'asaas-local-standin-token-0123456789abcdef',
	},
};

export function gatewayCredentials(baseUrl: string): CredentialSpec[] {
	return [
		{
			id: 'crStripeCred0001',
			name: 'Checkout Stripe',
			type: 'checkoutStripeApi',
			data: { ...GATEWAY_KEYS.stripe, baseUrl },
		},
		{
			id: 'crMercadoPago001',
			name: 'Checkout Mercado Pago',
			type: 'checkoutMercadoPagoApi',
			data: { ...GATEWAY_KEYS.mercadopago, sandbox: false, baseUrl },
		},
		{
			id: 'crAsaasCred00001',
			name: 'Checkout Asaas',
			type: 'checkoutAsaasApi',
			data: { ...GATEWAY_KEYS.asaas, baseUrl, checkoutPageUrl: baseUrl },
		},
	];
}

export const PIPEDRIVE_CREDENTIAL_ID = 'crPipedriveCred1';

export function pipedriveCredential(baseUrl: string, apiToken: string): CredentialSpec {
	return {
		id: PIPEDRIVE_CREDENTIAL_ID,
		name: 'Checkout Pipedrive',
		type: 'checkoutPipedriveApi',
		data: { apiToken, companyDomain: '', baseUrl },
	};
}

export const LINKS_CREDENTIAL_ID = 'crLinksCred00001';
/** The signing secret of pay links in the tests and the local pipeline (never a shop's: each shop makes its own). */
export const LOCAL_LINKS_SECRET = 'local-checkout-links-secret-not-for-production';

/** Pay links pointing at `payUrl` (the lead capture workflow's GET …/webhook/checkout/pay of that n8n). */
export function linksCredential(payUrl: string, validDays = 7): CredentialSpec {
	return {
		id: LINKS_CREDENTIAL_ID,
		name: 'Checkout Links API',
		type: 'checkoutLinksApi',
		data: { secret: LOCAL_LINKS_SECRET, payUrl, validDays },
	};
}
