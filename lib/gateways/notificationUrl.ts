/**
 * Where a gateway sends a checkout's notifications (Mercado Pago's notification_url). The deployment's
 * public address is set in one place, n8n's own webhook URL (N8N_WEBHOOK_URL / WEBHOOK_URL): by default
 * the notification goes to this instance's fast intake at that address. A loopback address can only be
 * reached by a gateway on the same machine (the local stand-in of npm start and the tests): with a real
 * gateway it would silently never arrive, so it is refused with what to set instead.
 */

/** The fast intake's path for Mercado Pago in the shipped workflow (payment-webhook-fast-intake.json). */
export const MERCADO_PAGO_INTAKE_PATH = 'checkout/fast/mercadopago';
/** n8n's production webhook endpoint (N8N_ENDPOINT_WEBHOOK; a shop that changes it sets the URL on the node). */
const WEBHOOK_ENDPOINT = 'webhook';

export class NotificationUrlError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'NotificationUrlError';
	}
}

export function isLoopbackAddress(address: string): boolean {
	let host: string;
	try {
		host = new URL(address).hostname;
	} catch {
		return false;
	}
	return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * n8n's public webhook address ("https://n8n.shop.example/"), from the REST API URL that n8n gives every
 * node: n8n builds that one from the same webhook address (its `rest` endpoint appended).
 */
export function webhookBaseFromRestApiUrl(restApiUrl: string): string {
	const url = new URL(restApiUrl);
	url.pathname = url.pathname.replace(/\/?[^/]*\/?$/, '/');
	url.search = '';
	url.hash = '';
	return url.toString();
}

/**
 * The notification URL of a checkout: the one set on the node, or this instance's fast intake. Throws
 * when it is not http(s), or is a loopback address while the gateway is not on this machine.
 */
export function resolveNotificationUrl(options: {
	/** The node's Notification URL parameter ("" for the default). */
	configured: string;
	/** What n8n's getRestApiUrl() answers. */
	restApiUrl: string;
	/** The gateway credential's API base URL. */
	gatewayBaseUrl: string;
}): string {
	const configured = options.configured.trim();
	const address =
		configured ||
		new URL(
			`${WEBHOOK_ENDPOINT}/${MERCADO_PAGO_INTAKE_PATH}`,
			webhookBaseFromRestApiUrl(options.restApiUrl),
		).toString();
	let url: URL;
	try {
		url = new URL(address);
	} catch {
		throw new NotificationUrlError(`Notification URL "${address.slice(0, 120)}" is not an address`);
	}
	if (url.protocol !== 'https:' && url.protocol !== 'http:')
		throw new NotificationUrlError(`Notification URL "${address.slice(0, 120)}" must be http(s)`);
	if (isLoopbackAddress(address) && !isLoopbackAddress(options.gatewayBaseUrl))
		throw new NotificationUrlError(
			`The gateway cannot reach the notification URL ${address} (a loopback address: only this machine ` +
				"reaches it). Set n8n's public webhook address (N8N_WEBHOOK_URL, e.g. https://n8n.your-shop.example/) " +
				"or this node's Notification URL to the instance's public fast-intake URL.",
		);
	return url.toString();
}
