/**
 * The exported checkout lead capture workflow in the real n8n: the form post is validated, the lead is
 * archived before anything else, and the buyer is sent with a 303 to a payment page already filled in;
 * a bad form gets 422 naming the fields and nothing is stored; a bot is thanked and dropped; a gateway
 * outage leaves the lead stored and shows a retry page; Elementor's webhook gets exactly 200 and its
 * Redirect finds the lead from the e-mail.
 */
import { startLeadCaptureBench, type LeadCaptureBench } from '../helpers/leadCaptureBench';

jest.setTimeout(300_000);

let bench: LeadCaptureBench;
beforeAll(async () => {
	bench = await startLeadCaptureBench();
});
afterAll(async () => {
	await bench?.stop();
});

const buyer = {
	nome: 'José da Conceição Ñandú',
	email: 'jose.conceicao@example.com',
	telefone: '(11) 98765-4321',
	cpf: '529.982.247-25',
	produto: 'Curso de fotografia',
	valor: '199,90',
	lgpd: 'on',
	utm_source: 'instagram',
};

async function postForm(path: string, fields: Record<string, string>, accept = 'text/html') {
	const res = await fetch(bench.n8n.webhookUrl(path), {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded', accept, referer: 'https://loja.example/checkout' },
		body: new URLSearchParams(fields).toString(),
		redirect: 'manual',
	});
	return { status: res.status, location: res.headers.get('location'), contentType: res.headers.get('content-type'), text: await res.text() };
}

async function pendingCount(): Promise<number> {
	let n = 0;
	for await (const page of bench.archive.walk('pending')) n += page.length;
	return n;
}

it('stores the lead, then answers 303 to the payment page with the buyer prefilled', async () => {
	const res = await postForm('checkout/lead', buyer);
	expect(res.status).toBe(303);
	expect(res.location).toMatch(new RegExp(`^${bench.gateways.baseUrl}/pay/mercadopago/`));
	const checkoutId = decodeURIComponent(res.location!.split('/').pop()!);
	const checkout = bench.gateways.checkouts.get(checkoutId)!;
	expect(checkout.buyer).toEqual({ name: 'José da Conceição Ñandú', email: 'jose.conceicao@example.com', phone: '+5511987654321', document: '52998224725' });
	expect(checkout.items).toEqual([{ name: 'Curso de fotografia', quantity: 1, unitAmount: 19990 }]);
	const page = await (await fetch(res.location!)).text();
	expect(page).toContain('José da Conceição Ñandú');

	const stored = await bench.archive.findByEventId(checkout.leadRef!);
	const lead = JSON.parse(stored!.body.toString('utf8'));
	expect(lead).toMatchObject({ type: 'lead.captured', leadId: checkout.leadRef, email: 'jose.conceicao@example.com', amount: 19990, consent: { given: true }, utm: { utm_source: 'instagram' }, referrer: 'https://loja.example/checkout' });
	expect(stored!.source).toBe('lead');
});

it('passes the buyer address on to the gateway (Mercado Pago payer.address) and stores it with the lead; a bad CEP is a 422 naming it', async () => {
	const res = await postForm('checkout/lead', { ...buyer, cep: '01310-100', endereco: 'Av. Paulista', numero: '1000', bairro: 'Bela Vista', cidade: 'São Paulo', uf: 'sp' });
	expect(res.status).toBe(303);
	const checkout = bench.gateways.checkouts.get(decodeURIComponent(res.location!.split('/').pop()!))!;
	expect((checkout.record.payer as { address?: unknown }).address).toEqual({ zip_code: '01310100', street_name: 'Av. Paulista', street_number: '1000' });
	const lead = JSON.parse((await bench.archive.findByEventId(checkout.leadRef!))!.body.toString('utf8'));
	expect(lead.address).toEqual({ postalCode: '01310100', street: 'Av. Paulista', number: '1000', district: 'Bela Vista', city: 'São Paulo', state: 'SP' });

	const before = await pendingCount();
	const bad = await postForm('checkout/lead', { ...buyer, cep: '0131' });
	expect(bad.status).toBe(422);
	expect(bad.text).toContain('<li data-field="postalCode"><strong>CEP</strong> is not a valid CEP');
	expect(await pendingCount()).toBe(before);
});

it('takes a multipart form (enctype="multipart/form-data") the same way', async () => {
	const form = new FormData();
	for (const [k, v] of Object.entries({ ...buyer, email: 'multipart@example.com' })) form.append(k, v);
	const res = await fetch(bench.n8n.webhookUrl('checkout/lead'), { method: 'POST', body: form, redirect: 'manual', headers: { accept: 'text/html' } });
	expect(res.status).toBe(303);
	const checkout = bench.gateways.checkouts.get(decodeURIComponent(res.headers.get('location')!.split('/').pop()!))!;
	expect(checkout.buyer).toMatchObject({ name: 'José da Conceição Ñandú', email: 'multipart@example.com', document: '52998224725' });
});

it('answers a bad form with 422 naming each field (HTML for browsers, JSON for APIs) and stores nothing', async () => {
	const before = await pendingCount();
	const html = await postForm('checkout/lead', { ...buyer, cpf: '529.982.247-26', email: 'nope' });
	expect(html.status).toBe(422);
	expect(html.contentType).toMatch(/text\/html/);
	expect(html.text).toContain('data-field="document"');
	expect(html.text).toContain('data-field="email"');
	expect(html.text).toContain('Voltar e corrigir');
	const json = await postForm('checkout/lead', { ...buyer, lgpd: '' }, 'application/json');
	expect(json.status).toBe(422);
	expect(JSON.parse(json.text)).toEqual({ error: 'invalid form', fields: [{ field: 'consent', message: 'must be accepted (LGPD)' }] });
	const hostile = await postForm('checkout/lead', { ...buyer, nome: '<script>'.repeat(200_000) }, 'application/json');
	expect(hostile.status).toBe(422);
	expect(await pendingCount()).toBe(before);
});

it('thanks a bot that filled the honeypot and stores nothing', async () => {
	const before = await pendingCount();
	const res = await postForm('checkout/lead', { ...buyer, website: 'http://spam.example' });
	expect(res.status).toBe(200);
	expect(res.text).toContain('Obrigado');
	expect(await pendingCount()).toBe(before);
});

it('keeps the lead when the gateway is down and offers a retry that works once it is back', async () => {
	await bench.gateways.close();
	const res = await postForm('checkout/lead', { ...buyer, email: 'retry@example.com' });
	expect(res.status).toBe(200);
	expect(res.text).toContain('Tentar novamente');
	const retry = /href="(pay\?lead=[^"]+)"/.exec(res.text)![1];
	const leadId = decodeURIComponent(retry.split('lead=')[1]);
	expect(JSON.parse((await bench.archive.findByEventId(leadId))!.body.toString('utf8')).email).toBe('retry@example.com');

	await bench.restartGateways();
	const again = await fetch(bench.n8n.webhookUrl(`checkout/${retry}`), { redirect: 'manual' });
	expect(again.status).toBe(303);
	expect(bench.gateways.checkouts.get(decodeURIComponent(again.headers.get('location')!.split('/').pop()!))?.leadRef).toBe(leadId);
});

it('answers an Elementor Pro webhook (advanced data) with exactly 200; its Redirect finds the lead from the e-mail', async () => {
	const elementor = {
		'form[id]': 'a1b2c3d',
		'form[name]': 'Checkout',
		'fields[name][id]': 'name',
		'fields[name][title]': 'Nome',
		'fields[name][value]': 'Maria Ângela',
		'fields[email][title]': 'E-mail',
		'fields[email][value]': 'maria.angela@example.com',
		'fields[cpf][title]': 'CPF',
		'fields[cpf][value]': '52998224725',
		'fields[produto][value]': 'Mentoria',
		'fields[valor][value]': '497',
		'fields[lgpd][value]': 'on',
	};
	const res = await postForm('checkout/lead/elementor', elementor, '*/*');
	expect(res.status).toBe(200);
	const { leadId } = JSON.parse(res.text) as { leadId: string };
	// A double submit is the same lead.
	expect(JSON.parse((await postForm('checkout/lead/elementor', elementor, '*/*')).text).leadId).toBe(leadId);

	const redirect = await fetch(bench.n8n.webhookUrl('checkout/pay?email=maria.angela%40example.com'), { redirect: 'manual' });
	expect(redirect.status).toBe(303);
	const checkout = bench.gateways.checkouts.get(decodeURIComponent(redirect.headers.get('location')!.split('/').pop()!))!;
	expect(checkout).toMatchObject({ leadRef: leadId, buyer: { name: 'Maria Ângela', document: '52998224725' }, items: [{ unitAmount: 49700 }] });

	const unknown = await fetch(bench.n8n.webhookUrl('checkout/pay?email=nobody%40example.com'), { redirect: 'manual' });
	expect(unknown.status).toBe(404);
});

it('answers 503 when the lead cannot be stored, and creates no payment link', async () => {
	const before = bench.gateways.checkouts.size;
	await bench.s3.stop();
	try {
		const res = await postForm('checkout/lead', { ...buyer, email: 'outage@example.com' });
		expect(res.status).toBe(503);
	} finally {
		await bench.s3.start();
	}
	expect(bench.gateways.checkouts.size).toBe(before);
});
