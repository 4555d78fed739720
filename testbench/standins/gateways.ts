/**
 * Local stand-ins for Stripe, Mercado Pago and Asaas (they cannot be reached from here), one HTTP server
 * on loopback. Each serves the endpoints the pack uses, answering as the vendors' published docs say
 * (envelopes, status codes, auth headers), plus a checkout page that shows the buyer's prefilled data
 * with "pay", "fail" and "abandon" buttons, which then send webhooks signed exactly as each provider signs.
 * The vendors' own SDKs keep it honest (test/integration/gateway-contract.test.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { escapeHtml } from '../../lib/html/escape';
import { signMercadoPago } from '../../lib/gateways/mercadopago';
import { signStripePayload } from '../../lib/gateways/stripe';
import { parseNestedForm } from './formBody';
import { readBody } from './http';

export interface GatewayStandInOptions {
	stripe: { secretKey: string; webhookSecret: string; webhookUrl?: string };
	mercadopago: { accessToken: string; webhookSecret: string };
	asaas: { apiKey: string; webhookToken: string; webhookUrl?: string };
	port?: number;
	/**
	 * Where a notification for `url` is really sent: the way DNS and the shop's reverse proxy lead a public
	 * address (https://n8n.shop.example/...) to the instance under test. As is when not given.
	 */
	route?: (url: string) => string;
}

type Provider = 'stripe' | 'mercadopago' | 'asaas';

interface Checkout {
	provider: Provider;
	id: string;
	leadRef?: string;
	buyer: { name?: string; email?: string; phone?: string; document?: string };
	items: Array<{ name: string; quantity: number; unitAmount: number }>;
	currency: string;
	successUrl?: string;
	cancelUrl?: string;
	notificationUrl?: string;
	status: 'open' | 'paid' | 'failed' | 'expired';
	paymentId?: string;
	record: Record<string, unknown>;
}

export interface SentWebhook {
	provider: Provider;
	url: string;
	status: number;
	body: string;
}

export interface GatewayStandIn {
	baseUrl: string;
	port: number;
	checkouts: Map<string, Checkout>;
	sent: SentWebhook[];
	/** Plays the buyer's click on the checkout page: pays, fails or abandons (expiry). */
	act(
		provider: Provider,
		checkoutId: string,
		action: 'pay' | 'fail' | 'expire',
	): Promise<SentWebhook | undefined>;
	close(): Promise<void>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const id = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

function send(
	res: ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
): void {
	const text = typeof body === 'string' ? body : JSON.stringify(body);
	res.writeHead(status, {
		'content-type': typeof body === 'string' ? 'text/html; charset=utf-8' : 'application/json',
		...headers,
	});
	res.end(text);
}

export async function startGatewayStandIn(options: GatewayStandInOptions): Promise<GatewayStandIn> {
	const checkouts = new Map<string, Checkout>();
	const payments = new Map<string, Record<string, unknown>>(); // Mercado Pago and Asaas payments by id
	const idempotent = new Map<string, unknown>();
	const sent: SentWebhook[] = [];
	let baseUrl = '';

	const stripeAuth = (req: IncomingMessage) =>
		req.headers.authorization === `Bearer ${options.stripe.secretKey}`;
	const mpAuth = (req: IncomingMessage) =>
		req.headers.authorization === `Bearer ${options.mercadopago.accessToken}`;
	const asaasAuth = (req: IncomingMessage) => req.headers['access_token'] === options.asaas.apiKey;

	const stripeSession = (c: Checkout) => c.record;

	async function deliver(
		provider: Provider,
		url: string | undefined,
		body: string,
		headers: Record<string, string>,
	): Promise<SentWebhook | undefined> {
		if (!url) return undefined;
		let status = 0; // the receiver did not answer: a real gateway would retry later
		try {
			const res = await fetch(options.route ? options.route(url) : url, {
				method: 'POST',
				headers: { 'content-type': 'application/json', ...headers },
				body,
			});
			status = res.status;
			await res.arrayBuffer();
		} catch {
			/* recorded with status 0 */
		}
		const record = { provider, url, status, body };
		sent.push(record);
		return record;
	}

	async function act(
		provider: Provider,
		checkoutId: string,
		action: 'pay' | 'fail' | 'expire',
	): Promise<SentWebhook | undefined> {
		const c = checkouts.get(checkoutId);
		if (!c || c.provider !== provider) throw new Error(`no ${provider} checkout ${checkoutId}`);
		c.status = action === 'pay' ? 'paid' : action === 'fail' ? 'failed' : 'expired';
		const amount = c.items.reduce((s, i) => s + i.quantity * i.unitAmount, 0);
		if (provider === 'stripe') {
			const session = stripeSession(c);
			session.status = action === 'pay' ? 'complete' : action === 'expire' ? 'expired' : 'open';
			session.payment_status = action === 'pay' ? 'paid' : 'unpaid';
			const type =
				action === 'pay'
					? 'checkout.session.completed'
					: action === 'fail'
						? 'checkout.session.async_payment_failed'
						: 'checkout.session.expired';
			const event = JSON.stringify({
				id: id('evt_'),
				object: 'event',
				api_version: '2026-10-28.endive',
				created: nowSeconds(),
				livemode: false,
				type,
				data: { object: session },
			});
			return deliver('stripe', options.stripe.webhookUrl, event, {
				'stripe-signature': signStripePayload(event, options.stripe.webhookSecret, nowSeconds()),
			});
		}
		if (provider === 'mercadopago') {
			const paymentId = String(Math.floor(1e9 + Math.random() * 9e9));
			const status = action === 'pay' ? 'approved' : action === 'fail' ? 'rejected' : 'cancelled';
			payments.set(paymentId, {
				id: Number(paymentId),
				status,
				status_detail:
					action === 'pay'
						? 'accredited'
						: action === 'fail'
							? 'cc_rejected_other_reason'
							: 'expired',
				external_reference: c.leadRef ?? null,
				transaction_amount: amount / 100,
				currency_id: c.currency,
				date_created: new Date().toISOString(),
				date_last_updated: new Date().toISOString(),
				payment_method_id: action === 'expire' ? 'pix' : 'visa',
			});
			c.paymentId = paymentId;
			const requestId = randomUUID();
			const ts = String(Date.now());
			const body = JSON.stringify({
				id: Math.floor(Math.random() * 1e11),
				live_mode: false,
				type: 'payment',
				date_created: new Date().toISOString(),
				user_id: '123',
				api_version: 'v1',
				action: 'payment.updated',
				data: { id: paymentId },
			});
			const url = c.notificationUrl
				? `${c.notificationUrl}${c.notificationUrl.includes('?') ? '&' : '?'}data.id=${paymentId}&type=payment`
				: undefined;
			return deliver('mercadopago', url, body, {
				'x-signature': signMercadoPago(paymentId, requestId, ts, options.mercadopago.webhookSecret),
				'x-request-id': requestId,
			});
		}
		const paymentId = id('pay_');
		const status = action === 'pay' ? 'RECEIVED' : action === 'fail' ? 'PENDING' : 'OVERDUE';
		const payment = {
			object: 'payment',
			id: paymentId,
			status,
			value: amount / 100,
			netValue: amount / 100,
			billingType: 'PIX',
			externalReference: c.leadRef ?? null,
			dateCreated: new Date().toISOString().slice(0, 10),
			invoiceUrl: `${baseUrl}/pay/asaas/${c.id}`,
		};
		payments.set(paymentId, payment);
		c.paymentId = paymentId;
		const event =
			action === 'pay'
				? 'PAYMENT_RECEIVED'
				: action === 'fail'
					? 'PAYMENT_REPROVED_BY_RISK_ANALYSIS'
					: 'CHECKOUT_EXPIRED';
		const local = new Date(Date.now() - 3 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
		const body = JSON.stringify({
			id: `evt_${randomBytes(16).toString('hex')}&${Math.floor(Math.random() * 1e9)}`,
			event,
			dateCreated: local,
			payment,
		});
		return deliver('asaas', options.asaas.webhookUrl, body, {
			'asaas-access-token': options.asaas.webhookToken,
		});
	}

	function checkoutPage(c: Checkout): string {
		const total = c.items.reduce((s, i) => s + i.quantity * i.unitAmount, 0);
		const field = (label: string, name: string, value: unknown) =>
			`<label>${label}<input name="${name}" id="${name}" value="${escapeHtml(String(value ?? ''))}" readonly></label>`;
		return `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Checkout (${c.provider} stand-in)</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}label{display:block;margin:.4rem 0}input{display:block;width:100%;padding:.3rem}button{margin:.5rem .5rem 0 0;padding:.5rem 1rem}</style></head>
<body><h1>Pagamento</h1><p class="provider">${escapeHtml(c.provider)} · ${escapeHtml(c.id)} · <span id="status">${c.status}</span></p>
${field('Nome', 'name', c.buyer.name)}${field('E-mail', 'email', c.buyer.email)}${field('Telefone', 'phone', c.buyer.phone)}${field('CPF/CNPJ', 'document', c.buyer.document)}
<ul>${c.items.map((i) => `<li>${i.quantity} × ${escapeHtml(i.name)}</li>`).join('')}</ul>
<p>Total: <strong id="total">${c.currency} ${(total / 100).toFixed(2)}</strong></p>
<form method="post" action="/pay/${c.provider}/${encodeURIComponent(c.id)}/pay" style="display:inline"><button id="pay">Pagar</button></form>
<form method="post" action="/pay/${c.provider}/${encodeURIComponent(c.id)}/fail" style="display:inline"><button id="fail">Cartão recusado</button></form>
<form method="post" action="/pay/${c.provider}/${encodeURIComponent(c.id)}/leave" style="display:inline"><button id="abandon">Abandonar</button></form>
</body></html>`;
	}

	async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', baseUrl);
		const path = url.pathname;
		const method = req.method ?? 'GET';
		let m: RegExpExecArray | null;

		// ---- Stripe (form-encoded requests, JSON answers, {error:{…}} envelope) ----
		if (path.startsWith('/v1/checkout/sessions') || path === '/v1/balance') {
			if (!stripeAuth(req))
				return send(res, 401, {
					error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' },
				});
			if (path === '/v1/balance')
				return send(res, 200, {
					object: 'balance',
					available: [{ amount: 0, currency: 'brl' }],
					pending: [],
					livemode: false,
				});
			if (method === 'POST' && path === '/v1/checkout/sessions') {
				const key = req.headers['idempotency-key'];
				const form = parseNestedForm(await readBody(req));
				if (typeof key === 'string' && idempotent.has(`stripe:${key}`))
					return send(res, 200, idempotent.get(`stripe:${key}`));
				const lineItems = (form.line_items ?? []) as Array<{
					quantity?: string;
					price_data?: {
						currency?: string;
						unit_amount?: string;
						product_data?: { name?: string };
					};
				}>;
				if (form.mode !== 'payment')
					return send(res, 400, {
						error: {
							type: 'invalid_request_error',
							param: 'mode',
							message: 'Missing required param: mode.',
						},
					});
				if (!form.success_url)
					return send(res, 400, {
						error: {
							type: 'invalid_request_error',
							param: 'success_url',
							message: 'Missing required param: success_url.',
						},
					});
				if (lineItems.length === 0)
					return send(res, 400, {
						error: {
							type: 'invalid_request_error',
							param: 'line_items',
							message: 'line_items is required in payment mode.',
						},
					});
				for (const [i, li] of lineItems.entries()) {
					if (!/^\d+$/.test(li.price_data?.unit_amount ?? ''))
						return send(res, 400, {
							error: {
								type: 'invalid_request_error',
								param: `line_items[${i}][price_data][unit_amount]`,
								message: 'Invalid integer',
							},
						});
				}
				const items = lineItems.map((li) => ({
					name: li.price_data?.product_data?.name ?? '',
					quantity: Number(li.quantity ?? 1),
					unitAmount: Number(li.price_data?.unit_amount),
				}));
				const sessionId = id('cs_test_');
				const expiresAt = form.expires_at ? Number(form.expires_at) : nowSeconds() + 86_400;
				const record: Record<string, unknown> = {
					id: sessionId,
					object: 'checkout.session',
					mode: 'payment',
					status: 'open',
					payment_status: 'unpaid',
					url: `${baseUrl}/pay/stripe/${sessionId}`,
					client_reference_id: form.client_reference_id ?? null,
					customer_email: form.customer_email ?? null,
					customer_details: null,
					metadata: form.metadata ?? {},
					amount_total: items.reduce((s, i) => s + i.quantity * i.unitAmount, 0),
					amount_subtotal: items.reduce((s, i) => s + i.quantity * i.unitAmount, 0),
					currency: lineItems[0].price_data?.currency ?? 'brl',
					success_url: form.success_url,
					cancel_url: form.cancel_url ?? null,
					expires_at: expiresAt,
					created: nowSeconds(),
					livemode: false,
					after_expiration: form.after_expiration ?? null,
				};
				checkouts.set(sessionId, {
					provider: 'stripe',
					id: sessionId,
					leadRef: form.client_reference_id as string | undefined,
					buyer: { email: form.customer_email as string | undefined },
					items,
					currency: String(record.currency).toUpperCase(),
					successUrl: form.success_url as string,
					cancelUrl: form.cancel_url as string | undefined,
					status: 'open',
					record,
				});
				if (typeof key === 'string') idempotent.set(`stripe:${key}`, record);
				return send(res, 200, record);
			}
			if (method === 'GET' && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path))) {
				const c = checkouts.get(decodeURIComponent(m[1]));
				if (!c || c.provider !== 'stripe')
					return send(res, 404, {
						error: {
							type: 'invalid_request_error',
							message: `No such checkout.session: '${m[1]}'`,
							code: 'resource_missing',
						},
					});
				return send(res, 200, c.record);
			}
		}

		// ---- Mercado Pago (JSON, Bearer) ----
		if (
			path === '/checkout/preferences' ||
			path.startsWith('/v1/payments') ||
			path === '/users/me'
		) {
			if (!mpAuth(req))
				return send(res, 401, {
					message: 'invalid_token',
					error: 'unauthorized',
					status: 401,
					cause: [],
				});
			if (path === '/users/me')
				return send(res, 200, { id: 123, nickname: 'TESTSTANDIN', site_id: 'MLB' });
			if (method === 'POST' && path === '/checkout/preferences') {
				const key = req.headers['x-idempotency-key'];
				if (typeof key === 'string' && idempotent.has(`mp:${key}`))
					return send(res, 201, idempotent.get(`mp:${key}`));
				const pref = JSON.parse(await readBody(req)) as {
					items?: Array<{
						title?: string;
						quantity?: number;
						unit_price?: number;
						currency_id?: string;
					}>;
					payer?: {
						name?: string;
						surname?: string;
						email?: string;
						phone?: { area_code?: string; number?: string };
						identification?: { number?: string };
					};
					external_reference?: string;
					notification_url?: string;
					back_urls?: { success?: string; failure?: string };
				};
				const items = pref.items ?? [];
				const bad = items.findIndex(
					(i) => !i.title || typeof i.quantity !== 'number' || typeof i.unit_price !== 'number',
				);
				if (items.length === 0 || bad >= 0)
					return send(res, 400, {
						message: 'items: title, quantity and unit_price are required',
						error: 'bad_request',
						status: 400,
						cause: [{ code: 'invalid_items', description: `items[${Math.max(bad, 0)}]` }],
					});
				const prefId = `${123}-${randomUUID()}`;
				const record = {
					...pref,
					id: prefId,
					init_point: `${baseUrl}/pay/mercadopago/${prefId}`,
					sandbox_init_point: `${baseUrl}/pay/mercadopago/${prefId}?sandbox=1`,
					collector_id: 123,
					client_id: '456',
					date_created: new Date().toISOString(),
				};
				const phone = pref.payer?.phone
					? `+55${pref.payer.phone.area_code}${pref.payer.phone.number}`
					: undefined;
				checkouts.set(prefId, {
					provider: 'mercadopago',
					id: prefId,
					leadRef: pref.external_reference,
					buyer: {
						name: [pref.payer?.name, pref.payer?.surname].filter(Boolean).join(' '),
						email: pref.payer?.email,
						phone,
						document: pref.payer?.identification?.number,
					},
					items: items.map((i) => ({
						name: i.title!,
						quantity: i.quantity!,
						unitAmount: Math.round(i.unit_price! * 100),
					})),
					currency: items[0].currency_id ?? 'BRL',
					successUrl: pref.back_urls?.success,
					cancelUrl: pref.back_urls?.failure,
					notificationUrl: pref.notification_url,
					status: 'open',
					record,
				});
				if (typeof key === 'string') idempotent.set(`mp:${key}`, record);
				return send(res, 201, record);
			}
			if (method === 'GET' && path === '/v1/payments/search') {
				const ref = url.searchParams.get('external_reference');
				const results = [...payments.values()]
					.filter((p) => p.external_reference === ref && typeof p.transaction_amount === 'number')
					.reverse();
				return send(res, 200, { paging: { total: results.length, limit: 30, offset: 0 }, results });
			}
			if (method === 'GET' && (m = /^\/v1\/payments\/([^/]+)$/.exec(path))) {
				const p = payments.get(decodeURIComponent(m[1]));
				return p
					? send(res, 200, p)
					: send(res, 404, {
							message: 'Payment not found',
							error: 'not_found',
							status: 404,
							cause: [{ code: 2000, description: 'Payment not found' }],
						});
			}
		}

		// ---- Asaas (JSON, access_token header, {errors:[…]} envelope) ----
		if (path.startsWith('/v3/')) {
			if (!asaasAuth(req))
				return send(res, 401, {
					errors: [
						{ code: 'invalid_access_token', description: 'A chave de API fornecida é inválida' },
					],
				});
			if (path === '/v3/finance/balance') return send(res, 200, { balance: 0 });
			if (method === 'POST' && path === '/v3/checkouts') {
				const key = req.headers['x-idempotency-key'];
				if (typeof key === 'string' && idempotent.has(`asaas:${key}`))
					return send(res, 200, idempotent.get(`asaas:${key}`));
				const body = JSON.parse(await readBody(req)) as {
					billingTypes?: string[];
					chargeTypes?: string[];
					callback?: { successUrl?: string; cancelUrl?: string; expiredUrl?: string };
					items?: Array<{ name?: string; description?: string; quantity?: number; value?: number }>;
					customerData?: { name?: string; email?: string; cpfCnpj?: string; phone?: string };
					externalReference?: string;
					minutesToExpire?: number;
				};
				const errors: Array<{ code: string; description: string }> = [];
				if (!body.billingTypes?.length)
					errors.push({ code: 'invalid_billingTypes', description: 'billingTypes é obrigatório' });
				if (body.billingTypes?.some((t) => t !== 'PIX' && t !== 'CREDIT_CARD'))
					errors.push({ code: 'invalid_billingTypes', description: 'Apenas PIX e CREDIT_CARD' });
				if (!body.chargeTypes?.length)
					errors.push({ code: 'invalid_chargeTypes', description: 'chargeTypes é obrigatório' });
				if (!body.callback?.successUrl || !body.callback.cancelUrl || !body.callback.expiredUrl)
					errors.push({
						code: 'invalid_callback',
						description: 'callback.successUrl, cancelUrl e expiredUrl são obrigatórios',
					});
				if (
					!body.items?.length ||
					body.items.some(
						(i) =>
							!i.name ||
							!i.description ||
							typeof i.value !== 'number' ||
							typeof i.quantity !== 'number',
					)
				)
					errors.push({
						code: 'invalid_items',
						description: 'items: name, description, value e quantity são obrigatórios',
					});
				if (errors.length) return send(res, 400, { errors });
				const checkoutId = randomUUID();
				const record = { id: checkoutId, status: 'ACTIVE', ...body };
				checkouts.set(checkoutId, {
					provider: 'asaas',
					id: checkoutId,
					leadRef: body.externalReference,
					buyer: {
						name: body.customerData?.name,
						email: body.customerData?.email,
						phone: body.customerData?.phone,
						document: body.customerData?.cpfCnpj,
					},
					items: body.items!.map((i) => ({
						name: i.name!,
						quantity: i.quantity!,
						unitAmount: Math.round(i.value! * 100),
					})),
					currency: 'BRL',
					successUrl: body.callback!.successUrl,
					cancelUrl: body.callback!.cancelUrl,
					status: 'open',
					record,
				});
				if (typeof key === 'string') idempotent.set(`asaas:${key}`, record);
				return send(res, 200, record);
			}
			if (method === 'GET' && path === '/v3/payments') {
				const ref = url.searchParams.get('externalReference');
				const data = [...payments.values()]
					.filter((p) => p.object === 'payment' && p.externalReference === ref)
					.reverse();
				return send(res, 200, {
					object: 'list',
					hasMore: false,
					totalCount: data.length,
					limit: 10,
					offset: 0,
					data,
				});
			}
			if (method === 'GET' && (m = /^\/v3\/payments\/([^/]+)$/.exec(path))) {
				const p = payments.get(decodeURIComponent(m[1]));
				return p
					? send(res, 200, p)
					: send(res, 404, {
							errors: [{ code: 'not_found', description: 'Cobrança não encontrada.' }],
						});
			}
		}

		// ---- The checkout page and the buyer's buttons ----
		if ((m = /^\/pay\/(stripe|mercadopago|asaas)\/([^/]+)$/.exec(path)) && method === 'GET') {
			const c = checkouts.get(decodeURIComponent(m[2]));
			return c ? send(res, 200, checkoutPage(c)) : send(res, 404, '<h1>Checkout not found</h1>');
		}
		if ((m = /^\/checkoutSession\/show$/.exec(path)) && method === 'GET') {
			const c = checkouts.get(url.searchParams.get('id') ?? '');
			return c ? send(res, 200, checkoutPage(c)) : send(res, 404, '<h1>Checkout not found</h1>');
		}
		if (
			(m = /^\/pay\/(stripe|mercadopago|asaas)\/([^/]+)\/(pay|fail|expire|leave)$/.exec(path)) &&
			method === 'POST'
		) {
			const c = checkouts.get(decodeURIComponent(m[2]));
			if (!c) return send(res, 404, '<h1>Checkout not found</h1>');
			// "Abandonar" is a buyer who just leaves: a real gateway sends nothing then (the abandoned-checkout
			// rule is what follows such a buyer up); a gateway's own expiry stays `expire`, as tests ask for it.
			if (m[3] !== 'leave') await act(m[1] as Provider, c.id, m[3] as 'pay' | 'fail' | 'expire');
			const target = m[3] === 'pay' ? c.successUrl : c.cancelUrl;
			return target
				? send(res, 303, '', { location: target })
				: send(res, 200, `<p id="status">${c.status}</p>`);
		}
		return send(res, 404, { error: 'not found', path });
	}

	const server: Server = createServer((req, res) => {
		route(req, res).catch((error: unknown) => send(res, 500, { error: String(error) }));
	});
	await new Promise<void>((resolve) =>
		server.listen(options.port ?? 0, '127.0.0.1', () => resolve()),
	);
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	baseUrl = `http://127.0.0.1:${port}`;
	return {
		baseUrl,
		port,
		checkouts,
		sent,
		act,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
