/**
 * The Payment Gateway node in the real n8n against the gateway stand-ins: Create Payment Link for each
 * provider returns a redirect URL whose page shows the buyer's data prefilled, with the amount exact;
 * Get Payment reads the status back; a bad amount fails clearly.
 */
import { E2eStack } from '../../testbench/e2eStack';
import type { N8nInstance } from '../../testbench/n8n';
import type { GatewayStandIn } from '../../testbench/standins/gateways';
import { webhookThroughNode } from '../../testbench/workflows';

jest.setTimeout(300_000);

const PROVIDERS = ['stripe', 'mercadopago', 'asaas'] as const;
const CREDENTIAL = {
	stripe: { checkoutStripeApi: { id: 'crStripeCred0001', name: 'Checkout Stripe' } },
	mercadopago: {
		checkoutMercadoPagoApi: { id: 'crMercadoPago001', name: 'Checkout Mercado Pago' },
	},
	asaas: { checkoutAsaasApi: { id: 'crAsaasCred00001', name: 'Checkout Asaas' } },
};
const createParams = {
	operation: 'createPaymentLink',
	stripeMode: 'checkoutSession',
	leadRef: '={{ $json.body.leadId }}',
	buyerName: '={{ $json.body.name }}',
	buyerEmail: '={{ $json.body.email }}',
	buyerPhone: '={{ $json.body.phone }}',
	buyerDocument: '={{ $json.body.document }}',
	product: '={{ $json.body.product }}',
	amount: '={{ $json.body.amount }}',
	quantity: 1,
	currency: 'BRL',
	successUrl: 'https://shop.example/obrigado',
	cancelUrl: 'https://shop.example/checkout',
	expiresInMinutes: 60,
	notificationUrl: 'http://127.0.0.1:9/mp',
};

let gateways: GatewayStandIn;
let n8n: N8nInstance;
let stack: E2eStack;

beforeAll(async () => {
	const workflows = [
		...PROVIDERS.map((p, i) =>
			webhookThroughNode(`crCreateLink000${i}`, `test/create-link/${p}`, {
				type: 'n8n-nodes-checkout-recovery.paymentGateway',
				parameters: { provider: p, ...createParams },
				credentials: CREDENTIAL[p],
			}),
		),
		webhookThroughNode('crStaticLink0001', 'test/static-link', {
			type: 'n8n-nodes-checkout-recovery.paymentGateway',
			parameters: {
				provider: 'stripe',
				...createParams,
				stripeMode: 'staticLink',
				paymentLinkUrl: 'https://buy.stripe.com/test_14k8yy',
			},
			credentials: CREDENTIAL.stripe,
		}),
		webhookThroughNode('crGetPayment0001', 'test/get-payment', {
			type: 'n8n-nodes-checkout-recovery.paymentGateway',
			parameters: {
				provider: 'mercadopago',
				operation: 'getPayment',
				lookUpBy: 'leadRef',
				lookUpValue: '={{ $json.body.leadId }}',
			},
			credentials: CREDENTIAL.mercadopago,
		}),
	];
	stack = await E2eStack.start({
		gateways: true,
		workflows,
		ready: async (instance) =>
			(await fetch(instance.webhookUrl('test/get-payment'), { method: 'POST' })).status !== 404,
	});
	({ n8n, gateways } = stack);
});
afterAll(async () => {
	await stack?.stop();
});

async function call(
	path: string,
	body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
	const res = await fetch(n8n.webhookUrl(path), {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});
	const text = await res.text();
	return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const buyer = {
	name: 'João Conceição',
	email: 'joao@example.com',
	phone: '+5511987654321',
	document: '529.982.247-25',
	product: 'Curso de fotografia',
	amount: 'R$ 1.234,56',
};

it.each(PROVIDERS)(
	'%s: creates a payment link whose page shows the buyer prefilled and the exact amount',
	async (provider) => {
		const leadId = `lead-${provider}-1`;
		const res = await call(`test/create-link/${provider}`, { leadId, ...buyer });
		expect(res.status).toBe(200);
		expect(res.json).toMatchObject({ provider, leadRef: leadId, amount: 123456, currency: 'BRL' });
		const checkout = gateways.checkouts.get(String(res.json.providerId));
		expect(checkout).toMatchObject({
			leadRef: leadId,
			items: [{ unitAmount: 123456, quantity: 1 }],
		});
		const page = await (await fetch(String(res.json.redirectUrl))).text();
		expect(page).toContain('joao@example.com');
		expect(page).toContain('BRL 1234.56');
		if (provider !== 'stripe') {
			expect(checkout?.buyer).toMatchObject({ name: 'João Conceição', document: '52998224725' });
			expect(page).toContain('João Conceição');
		}
		// The form posted twice (a double click): the same checkout, not a second one.
		const again = await call(`test/create-link/${provider}`, { leadId, ...buyer });
		expect(again.json.providerId).toBe(res.json.providerId);
	},
);

it('stripe static Payment Link: the buyer email and our reference ride in the URL, no API call', async () => {
	const before = gateways.checkouts.size;
	const res = await call('test/static-link', { leadId: 'lead-static-1', ...buyer });
	expect(res.json.redirectUrl).toBe(
		'https://buy.stripe.com/test_14k8yy?prefilled_email=joao%40example.com&client_reference_id=lead-static-1',
	);
	expect(gateways.checkouts.size).toBe(before);
});

it('gets a payment status by our lead reference after the buyer paid', async () => {
	const created = await call('test/create-link/mercadopago', { leadId: 'lead-paid-1', ...buyer });
	await gateways.act('mercadopago', String(created.json.providerId), 'pay');
	const res = await call('test/get-payment', { leadId: 'lead-paid-1' });
	expect(res.json).toMatchObject({
		provider: 'mercadopago',
		status: 'paid',
		providerStatus: 'approved',
		leadRef: 'lead-paid-1',
		amount: 123456,
	});
});

it('fails clearly on an amount that is not a price, and creates nothing', async () => {
	const before = gateways.checkouts.size;
	const res = await call('test/create-link/asaas', {
		leadId: 'lead-bad',
		...buyer,
		amount: 'grátis',
	});
	expect(res.status).toBeGreaterThanOrEqual(500);
	expect(gateways.checkouts.size).toBe(before);
});
