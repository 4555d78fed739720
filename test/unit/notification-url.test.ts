import {
	isLoopbackAddress,
	resolveNotificationUrl,
	webhookBaseFromRestApiUrl,
} from '../../lib/gateways/notificationUrl';

describe("Mercado Pago's notification URL", () => {
	it("defaults to this instance's fast intake at n8n's public webhook address", () => {
		expect(
			resolveNotificationUrl({
				configured: '',
				restApiUrl: 'https://n8n.shop.example/rest',
				gatewayBaseUrl: 'https://api.mercadopago.com',
			}),
		).toBe('https://n8n.shop.example/webhook/checkout/fast/mercadopago');
		// n8n behind a path prefix (N8N_WEBHOOK_URL=https://shop.example/n8n/).
		expect(
			resolveNotificationUrl({
				configured: '  ',
				restApiUrl: 'https://shop.example/n8n/rest',
				gatewayBaseUrl: 'https://api.mercadopago.com',
			}),
		).toBe('https://shop.example/n8n/webhook/checkout/fast/mercadopago');
	});

	it('keeps an address set on the node', () => {
		expect(
			resolveNotificationUrl({
				configured: 'https://hooks.shop.example/mp?x=1',
				restApiUrl: 'http://localhost:5678/rest',
				gatewayBaseUrl: 'https://api.mercadopago.com',
			}),
		).toBe('https://hooks.shop.example/mp?x=1');
	});

	it('refuses a loopback address unless the gateway is on this machine too (a local stand-in)', () => {
		for (const restApiUrl of ['http://localhost:5678/rest', 'http://127.0.0.1:5678/rest'])
			expect(() =>
				resolveNotificationUrl({
					configured: '',
					restApiUrl,
					gatewayBaseUrl: 'https://api.mercadopago.com',
				}),
			).toThrow(/loopback address.*N8N_WEBHOOK_URL/);
		expect(() =>
			resolveNotificationUrl({
				configured: 'http://[::1]:5678/webhook/x',
				restApiUrl: 'https://n8n.shop.example/rest',
				gatewayBaseUrl: 'https://api.mercadopago.com',
			}),
		).toThrow(/loopback/);
		expect(
			resolveNotificationUrl({
				configured: '',
				restApiUrl: 'http://127.0.0.1:40123/rest',
				gatewayBaseUrl: 'http://127.0.0.1:40999',
			}),
		).toBe('http://127.0.0.1:40123/webhook/checkout/fast/mercadopago');
	});

	it('refuses what is not an http(s) address', () => {
		const base = {
			restApiUrl: 'https://n8n.shop.example/rest',
			gatewayBaseUrl: 'https://a.example',
		};
		expect(() => resolveNotificationUrl({ ...base, configured: 'not a url' })).toThrow(
			/not an address/,
		);
		expect(() => resolveNotificationUrl({ ...base, configured: 'ftp://x.example/mp' })).toThrow(
			/http\(s\)/,
		);
	});

	it('tells loopback addresses from others', () => {
		expect(isLoopbackAddress('http://127.0.0.5:1/')).toBe(true);
		expect(isLoopbackAddress('http://localhost/')).toBe(true);
		expect(isLoopbackAddress('http://127.example.com/')).toBe(false);
		expect(isLoopbackAddress('https://10.0.0.1/')).toBe(false);
		expect(webhookBaseFromRestApiUrl('https://n8n.example/rest')).toBe('https://n8n.example/');
	});
});
