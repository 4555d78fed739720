/**
 * The exported checkout lead capture workflow in the real n8n: the form post is validated and priced from
 * the catalog, the lead is archived before anything else, and the buyer is sent with a 303 to a payment
 * page already filled in; a bad form gets 4xx naming the fields and nothing is stored; a bot is thanked
 * and dropped; a gateway outage leaves the lead stored and shows a retry page with a signed link;
 * Elementor's webhook gets exactly 200 and its Redirect finds the lead from the page's random token.
 * Attacked as the open internet would: prototype keys, oversized bodies, wrong content types, a price in
 * the form or the query, links guessed, forged, expired or paid; the instance keeps answering.
 */
import { randomUUID } from 'node:crypto';
import { LeadRegistry } from '../../lib/archive/leadRegistry';

import { uuidv7 } from '../../lib/forms/ids';
import { HTML_CSP_META, HTML_SECURITY_HEADERS } from '../../lib/html/securityHeaders';
import { executionsHolding } from '../../testbench/n8n';
import { waitFor } from '../../testbench/ports';
import { signLinkToken } from '../../lib/links/checkoutLinks';
import { LOCAL_LINKS_SECRET } from '../../testbench/credentials';
import { startLeadCaptureBench, type LeadCaptureBench } from '../../testbench/leadCaptureBench';
import { fastLeadCaptureWithExecutions } from '../../testbench/workflows';

jest.setTimeout(300_000);

let bench: LeadCaptureBench;
beforeAll(async () => {
	bench = await startLeadCaptureBench([
		fastLeadCaptureWithExecutions('checkout/lead/fast-with-executions', 'leads'),
	]);
});
afterAll(async () => {
	await bench?.stop();
});

/** The shop's HTML form posts to either lead capture: the fast trigger or the visual workflow. */
const FORMS: Array<[string, string]> = [
	['fast trigger (checkout/lead/fast)', 'checkout/lead/fast'],
	['visual workflow (checkout/lead)', 'checkout/lead'],
];

const buyer = {
	nome: 'José da Conceição Ñandú',
	email: 'jose.conceicao@example.com',
	telefone: '(11) 98765-4321',
	cpf: '529.982.247-25',
	produto: 'Curso de fotografia',
	lgpd: 'on',
	utm_source: 'instagram',
};

async function postForm(path: string, fields: Record<string, string>, accept = 'text/html') {
	const res = await fetch(bench.n8n.webhookUrl(path), {
		method: 'POST',
		headers: {
			'content-type': 'application/x-www-form-urlencoded',
			accept,
			referer: 'https://loja.example/checkout',
		},
		body: new URLSearchParams(fields).toString(),
		redirect: 'manual',
	});
	return {
		status: res.status,
		location: res.headers.get('location'),
		contentType: res.headers.get('content-type'),
		securityHeaders: Object.fromEntries(
			Object.keys(HTML_SECURITY_HEADERS).map((name) => [name, res.headers.get(name)]),
		),
		text: await res.text(),
	};
}

async function postRaw(path: string, body: string, contentType: string) {
	const res = await fetch(bench.n8n.webhookUrl(path), {
		method: 'POST',
		headers: { 'content-type': contentType, accept: 'application/json' },
		body,
		redirect: 'manual',
	});
	return { status: res.status, text: await res.text() };
}

const checkoutOf = (location: string | null) =>
	bench.gateways.checkouts.get(decodeURIComponent(location!.split('/').pop()!))!;

async function pendingCount(): Promise<number> {
	let n = 0;
	for await (const page of bench.archive.walk('pending')) n += page.length;
	return n;
}

describe.each(FORMS)('the form on the %s', (_name, form) => {
	it('stores the lead, then answers 303 to the payment page with the buyer prefilled', async () => {
		const res = await postForm(form, buyer);
		expect(res.status).toBe(303);
		expect(res.securityHeaders).toEqual(HTML_SECURITY_HEADERS);
		expect(res.location).toMatch(new RegExp(`^${bench.gateways.baseUrl}/pay/mercadopago/`));
		const checkoutId = decodeURIComponent(res.location!.split('/').pop()!);
		const checkout = bench.gateways.checkouts.get(checkoutId)!;
		expect(checkout.buyer).toEqual({
			name: 'José da Conceição Ñandú',
			email: 'jose.conceicao@example.com',
			phone: '+5511987654321',
			document: '52998224725',
		});
		expect(checkout.items).toEqual([
			{ name: 'Curso de fotografia', quantity: 1, unitAmount: 19990 },
		]);
		const page = await (await fetch(res.location!)).text();
		expect(page).toContain('José da Conceição Ñandú');

		const stored = await new LeadRegistry(bench.archive).findLatestRevision(checkout.leadRef!);
		const lead = JSON.parse(stored!.body.toString('utf8'));
		expect(lead).toMatchObject({
			type: 'lead.captured',
			leadId: checkout.leadRef,
			email: 'jose.conceicao@example.com',
			product: 'Curso de fotografia',
			productKey: 'curso-de-fotografia',
			amount: 19990,
			consent: { given: true },
			utm: { utm_source: 'instagram' },
			referrer: 'https://loja.example/checkout',
		});
		expect(stored!.eventId).toBe(`${checkout.leadRef}.${lead.revision}`);
		expect(stored!.source).toBe('lead');
	});

	it('passes the buyer address on to the gateway (Mercado Pago payer.address) and stores it with the lead; a bad CEP is a 422 naming it', async () => {
		const res = await postForm(form, {
			...buyer,
			cep: '01310-100',
			endereco: 'Av. Paulista',
			numero: '1000',
			bairro: 'Bela Vista',
			cidade: 'São Paulo',
			uf: 'sp',
		});
		expect(res.status).toBe(303);
		const checkout = bench.gateways.checkouts.get(
			decodeURIComponent(res.location!.split('/').pop()!),
		)!;
		expect((checkout.record.payer as { address?: unknown }).address).toEqual({
			zip_code: '01310100',
			street_name: 'Av. Paulista',
			street_number: '1000',
		});
		const lead = JSON.parse(
			(await new LeadRegistry(bench.archive).findLatestRevision(checkout.leadRef!))!.body.toString(
				'utf8',
			),
		);
		expect(lead.address).toEqual({
			postalCode: '01310100',
			street: 'Av. Paulista',
			number: '1000',
			district: 'Bela Vista',
			city: 'São Paulo',
			state: 'SP',
		});

		const before = await pendingCount();
		const bad = await postForm(form, { ...buyer, cep: '0131' });
		expect(bad.status).toBe(422);
		expect(bad.text).toContain(
			'<li data-field="postalCode"><strong>CEP</strong> is not a valid CEP',
		);
		expect(await pendingCount()).toBe(before);
	});

	it('takes a multipart form (enctype="multipart/form-data") the same way', async () => {
		const multipart = new FormData();
		for (const [k, v] of Object.entries({ ...buyer, email: 'multipart@example.com' }))
			multipart.append(k, v);
		const res = await fetch(bench.n8n.webhookUrl(form), {
			method: 'POST',
			body: multipart,
			redirect: 'manual',
			headers: { accept: 'text/html' },
		});
		expect(res.status).toBe(303);
		const checkout = bench.gateways.checkouts.get(
			decodeURIComponent(res.headers.get('location')!.split('/').pop()!),
		)!;
		expect(checkout.buyer).toMatchObject({
			name: 'José da Conceição Ñandú',
			email: 'multipart@example.com',
			document: '52998224725',
		});
	});

	it('refuses a post with a file part with 415 naming the field, and stores nothing', async () => {
		const before = await pendingCount();
		const since = Date.now();
		const multipart = new FormData();
		for (const [k, v] of Object.entries({ ...buyer, email: 'with-a-file@example.com' }))
			multipart.append(k, v);
		multipart.append('comprovante', new Blob([Buffer.alloc(5 * 1024 * 1024, 7)]), 'big.bin');
		const res = await fetch(bench.n8n.webhookUrl(form), {
			method: 'POST',
			body: multipart,
			redirect: 'manual',
			headers: { accept: 'application/json' },
		});
		expect(res.status).toBe(415);
		expect(JSON.parse(await res.text()).fields).toEqual([
			{ field: 'comprovante', message: 'is a file: this form takes no files' },
		]);
		expect(await pendingCount()).toBe(before);
		// The fast trigger keeps nothing of the file: n8n's parser held it in its temporary folder for the
		// request only. (Behind a Webhook node, n8n copies it into the execution's binary data first.)
		if (form === 'checkout/lead/fast') expect(bench.largeFilesSince(since)).toEqual([]);
	});

	it('answers a bad form with 422 naming each field (HTML for browsers, JSON for APIs) and stores nothing', async () => {
		const before = await pendingCount();
		const html = await postForm(form, { ...buyer, cpf: '529.982.247-26', email: 'nope' });
		expect(html.status).toBe(422);
		expect(html.contentType).toMatch(/text\/html/);
		expect(html.text).toContain('data-field="document"');
		expect(html.text).toContain('data-field="email"');
		expect(html.text).toContain('id="back"');
		expect(html.securityHeaders).toEqual(HTML_SECURITY_HEADERS);
		expect(html.text).toContain(HTML_CSP_META);
		const json = await postForm(form, { ...buyer, lgpd: '' }, 'application/json');
		expect(json.status).toBe(422);
		expect(JSON.parse(json.text)).toEqual({
			error: 'invalid form',
			fields: [{ field: 'consent', message: 'must be accepted (LGPD)' }],
		});
		const hostile = await postForm(
			form,
			{ ...buyer, nome: '<script>'.repeat(200_000) },
			'application/json',
		);
		expect(hostile.status).toBe(413);
		expect(await pendingCount()).toBe(before);
	});

	it('thanks a bot that filled the honeypot and stores nothing', async () => {
		const before = await pendingCount();
		const res = await postForm(form, { ...buyer, website: 'http://spam.example' });
		expect(res.status).toBe(200);
		expect(res.text).toContain('Obrigado');
		expect(await pendingCount()).toBe(before);
	});

	it("brings a buyer who leaves the payment page back to n8n's own page, never to a shop page with the pay link in its address", async () => {
		const res = await postForm(form, { ...buyer, email: 'left.the.page@example.com' });
		expect(res.status).toBe(303);
		const checkout = checkoutOf(res.location);
		// Where the gateway sends the buyer back: the lead's own signed pay link, marked as a return.
		const back = new URL(checkout.cancelUrl!);
		expect(back.origin + back.pathname).toBe(bench.n8n.webhookUrl('checkout/pay'));
		expect(back.searchParams.get('from')).toBe('gateway');
		expect(back.searchParams.get('lead')!.split('.')[0]).toBe(checkout.leadRef);
		expect(new URL(checkout.successUrl!).search).toBe('');
		const page = await fetch(back, { redirect: 'manual' });
		expect(page.status).toBe(200);
		for (const [name, value] of Object.entries(HTML_SECURITY_HEADERS))
			expect(page.headers.get(name)).toBe(value);
		const html = await page.text();
		expect(html).toContain(HTML_CSP_META);
		expect(html).toContain('Pagamento não concluído');
		// "Try again" opens a new payment page for the same lead; "back to the shop" carries nothing.
		const retry = /id="retry" href="([^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');
		expect(new URL(retry).searchParams.get('from')).toBeNull();
		const shop = /id="shop" href="([^"]+)"/.exec(html)![1];
		expect(new URL(shop).search).toBe('');
		const again = await fetch(retry, { redirect: 'manual' });
		expect(again.status).toBe(303);
		expect(checkoutOf(again.headers.get('location')).leadRef).toBe(checkout.leadRef);
	});

	it('keeps the lead when the gateway is down and offers a signed retry link that works once it is back', async () => {
		await bench.gateways.close();
		const res = await postForm(form, { ...buyer, email: 'retry@example.com' });
		expect(res.status).toBe(200);
		expect(res.text).toContain('Tentar novamente');
		const retry = /href="([^"]+)"/.exec(res.text)![1].replace(/&amp;/g, '&');
		expect(retry.startsWith(bench.n8n.webhookUrl('checkout/pay?lead='))).toBe(true);
		const leadId = new URL(retry).searchParams.get('lead')!.split('.')[0];
		expect(
			JSON.parse(
				(await new LeadRegistry(bench.archive).findLatestRevision(leadId))!.body.toString('utf8'),
			).email,
		).toBe('retry@example.com');

		await bench.restartGateways();
		const again = await fetch(retry, { redirect: 'manual' });
		expect(again.status).toBe(303);
		expect(checkoutOf(again.headers.get('location')).leadRef).toBe(leadId);
	});
});

const elementorPost = (token: string, fields: Record<string, string> = {}) => ({
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
	'fields[lgpd][value]': 'on',
	'fields[checkout_token][value]': token,
	...fields,
});

it('answers an Elementor Pro webhook (advanced data) with exactly 200; its Redirect finds the lead by the page token, never by e-mail', async () => {
	const token = randomUUID();
	const res = await postForm('checkout/lead/elementor', elementorPost(token), '*/*');
	expect(res.status).toBe(200);
	const { leadId } = JSON.parse(res.text) as { leadId: string };
	// A double submit is the same lead. It is stored as one more revision (every post is, so that a
	// correction back to earlier values is the newest), which changes nothing downstream: one lead id.
	const before = await pendingCount();
	expect(
		JSON.parse((await postForm('checkout/lead/elementor', elementorPost(token), '*/*')).text)
			.leadId,
	).toBe(leadId);
	expect(await pendingCount()).toBe(before + 1);

	const redirect = await fetch(bench.n8n.webhookUrl(`checkout/pay?token=${token}`), {
		redirect: 'manual',
	});
	expect(redirect.status).toBe(303);
	expect(checkoutOf(redirect.headers.get('location'))).toMatchObject({
		leadRef: leadId,
		buyer: { name: 'Maria Ângela', document: '52998224725' },
		items: [{ name: 'Mentoria', unitAmount: 49700 }],
	});
	// The token is the buyer's secret: it is not stored with the lead.
	expect(
		(await new LeadRegistry(bench.archive).findLatestRevision(leadId))!.body.toString('utf8'),
	).not.toContain(token);

	// Knowing the e-mail gets nothing: the same answer as for any link that opens nothing.
	const byEmail = await fetch(
		bench.n8n.webhookUrl('checkout/pay?email=maria.angela%40example.com'),
		{ redirect: 'manual' },
	);
	const unknown = await fetch(bench.n8n.webhookUrl(`checkout/pay?token=${randomUUID()}`), {
		redirect: 'manual',
	});
	expect(byEmail.status).toBe(404);
	expect(unknown.status).toBe(404);
	expect(await byEmail.text()).toBe(await unknown.text());
});

it('updates the Elementor lead when the buyer corrects the form (another product, phone) instead of dropping it as a duplicate', async () => {
	const token = randomUUID();
	const first = JSON.parse(
		(await postForm('checkout/lead/elementor', elementorPost(token), '*/*')).text,
	) as { leadId: string };
	const corrected = await postForm(
		'checkout/lead/elementor',
		elementorPost(token, {
			'fields[produto][value]': 'curso-de-fotografia',
			'fields[telefone][value]': '(21) 99876-5432',
		}),
		'*/*',
	);
	expect(corrected.status).toBe(200);
	expect(JSON.parse(corrected.text).leadId).toBe(first.leadId);
	const latest = JSON.parse(
		(await new LeadRegistry(bench.archive).findLatestRevision(first.leadId))!.body.toString('utf8'),
	);
	expect(latest).toMatchObject({
		leadId: first.leadId,
		product: 'Curso de fotografia',
		amount: 19990,
		phone: '+5521998765432',
	});
	const redirect = await fetch(bench.n8n.webhookUrl(`checkout/pay?token=${token}`), {
		redirect: 'manual',
	});
	expect(checkoutOf(redirect.headers.get('location'))).toMatchObject({
		leadRef: first.leadId,
		buyer: { phone: '+5521998765432' },
		items: [{ name: 'Curso de fotografia', unitAmount: 19990 }],
	});
	// Corrected back to the first values (A → B → A): the newest revision again, not a duplicate of the first.
	const back = await postForm('checkout/lead/elementor', elementorPost(token), '*/*');
	expect(back.status).toBe(200);
	const original = JSON.parse(
		(await new LeadRegistry(bench.archive).findLatestRevision(first.leadId))!.body.toString('utf8'),
	) as { phone?: string; product?: string };
	expect(original.phone).toBeUndefined();
	expect(original.product).toBe('Mentoria');
	const reopened = await fetch(bench.n8n.webhookUrl(`checkout/pay?token=${token}`), {
		redirect: 'manual',
	});
	expect(checkoutOf(reopened.headers.get('location')).items).toMatchObject([{ name: 'Mentoria' }]);
	// An Elementor post without the token is a setup error the shop owner sees at the first test.
	const untokened = await postForm('checkout/lead/elementor', elementorPost(''), '*/*');
	expect(untokened.status).toBe(422);
	expect(untokened.text).toContain('checkoutToken');
});

describe.each(FORMS)('the form on the %s', (_name, form) => {
	it('prices every checkout from the catalog: a price in the form or the query is ignored, an unknown product refused', async () => {
		const cheap = await fetch(bench.n8n.webhookUrl(`${form}?valor=0,01&price=0.01`), {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
			body: new URLSearchParams({
				...buyer,
				email: 'cheap@example.com',
				valor: '0,01',
				amount: '1',
			}).toString(),
			redirect: 'manual',
		});
		expect(cheap.status).toBe(303);
		expect(checkoutOf(cheap.headers.get('location')).items).toEqual([
			{ name: 'Curso de fotografia', quantity: 1, unitAmount: 19990 },
		]);
		const unknown = await postForm(
			form,
			{ ...buyer, produto: 'Curso de fotografia (grátis)' },
			'application/json',
		);
		expect(unknown.status).toBe(422);
		expect(JSON.parse(unknown.text).fields).toEqual([
			{ field: 'product', message: 'is not a product of this shop' },
		]);
		// An open-price row (a donation) takes the form's amount, at least its minimum.
		const donation = await postForm(form, {
			...buyer,
			produto: 'doacao',
			valor: '25,00',
			email: 'donor@example.com',
		});
		expect(checkoutOf(donation.location).items).toEqual([
			{ name: 'Doação', quantity: 1, unitAmount: 2500 },
		]);
		expect(
			(await postForm(form, { ...buyer, produto: 'doacao', valor: '0,01' }, 'application/json'))
				.status,
		).toBe(422);
	});

	it('gives one neutral answer to every pay link that opens nothing: guessed, bare lead id, forged, expired, paid', async () => {
		const res = await postForm(form, { ...buyer, email: 'links@example.com' });
		const leadId = checkoutOf(res.location).leadRef!;
		const pay = (query: string) =>
			fetch(bench.n8n.webhookUrl(`checkout/pay?${query}`), { redirect: 'manual' });
		const valid = signLinkToken(leadId, Date.now() + 3_600_000, LOCAL_LINKS_SECRET);
		expect((await pay(`lead=${valid}`)).status).toBe(303);

		const [id, expiry, keyId, mac] = valid.split('.');
		const attempts = {
			guessed: `lead=${signLinkToken(uuidv7(), Date.now() + 3_600_000, LOCAL_LINKS_SECRET)}`,
			bareLeadId: `lead=${leadId}`,
			extended: `lead=${id}.${(Date.now() + 365 * 86_400_000).toString(36)}.${keyId}.${mac}`,
			forged: `lead=${id}.${expiry}.${keyId}.${'x'.repeat(32)}`,
			expired: `lead=${signLinkToken(leadId, Date.now() - 1000, LOCAL_LINKS_SECRET)}`,
			email: 'email=links%40example.com',
			nothing: '',
			hostile: 'lead[__proto__][x]=1&constructor[prototype][y]=2',
		};
		const answers = await Promise.all(Object.values(attempts).map(async (q) => await pay(q)));
		const bodies = await Promise.all(answers.map(async (a) => await a.text()));
		expect(answers.map((a) => a.status)).toEqual(Object.values(attempts).map(() => 404));
		expect(new Set(bodies).size).toBe(1);

		// Paid: the intake closes the lead's links (here the archive call it makes); the same answer from then on.
		await new LeadRegistry(bench.archive).closeLead(leadId, { eventId: 'evt-paid' });
		const paid = await pay(`lead=${valid}`);
		expect(paid.status).toBe(404);
		expect(await paid.text()).toBe(bodies[0]);
	});

	it('refuses hostile bodies with a 4xx naming the field, stores nothing, and keeps answering valid requests', async () => {
		const before = await pendingCount();
		const protoJson = await postRaw(
			form,
			JSON.stringify({ nome: 'Ana', email: 'a@b.co' }).replace(
				'{',
				'{"__proto__":{"polluted":"yes"},',
			),
			'application/json',
		);
		expect(protoJson.status).toBe(422);
		expect(JSON.parse(protoJson.text).fields[0].field).toBe('__proto__');
		const protoForm = await postRaw(
			form,
			'__proto__%5Bpolluted%5D=yes&nome=Ana',
			'application/x-www-form-urlencoded',
		);
		expect(protoForm.status).toBe(422);
		expect(JSON.parse(protoForm.text).fields[0].field).toBe('__proto__[polluted]');
		const ctor = await postRaw(
			'checkout/lead/elementor',
			'fields%5Bconstructor%5D%5Bprototype%5D%5Bpolluted%5D=yes',
			'application/x-www-form-urlencoded',
		);
		expect(ctor.status).toBe(422);
		const multipart = new FormData();
		multipart.append('__proto__', 'x');
		multipart.append('nome', 'Ana');
		const protoMultipart = await fetch(bench.n8n.webhookUrl(form), {
			method: 'POST',
			body: multipart,
			headers: { accept: 'application/json' },
			redirect: 'manual',
		});
		expect(protoMultipart.status).toBeGreaterThanOrEqual(400);
		expect(protoMultipart.status).toBeLessThan(500);
		const twoMegabytes = await postRaw(
			form,
			JSON.stringify({ ...buyer, nome: 'x'.repeat(2 * 1024 * 1024) }),
			'application/json',
		);
		expect(twoMegabytes.status).toBe(413);
		const plain = await postRaw(form, 'nome=Ana&email=a@b.co', 'text/plain');
		expect(plain.status).toBe(415);
		const notJson = await postRaw(form, '{"nome": "Ana",', 'application/json');
		expect(notJson.status).toBe(422);
		const array = await postRaw(form, '[1,2,3]', 'application/json');
		expect(array.status).toBe(422);
		expect(await pendingCount()).toBe(before);

		// The instance keeps answering: the form, Elementor and the pay link all work afterwards.
		const ok = await postForm(form, { ...buyer, email: 'after-attack@example.com' });
		expect(ok.status).toBe(303);
		const token = randomUUID();
		expect((await postForm('checkout/lead/elementor', elementorPost(token), '*/*')).status).toBe(
			200,
		);
		expect(
			(await fetch(bench.n8n.webhookUrl(`checkout/pay?token=${token}`), { redirect: 'manual' }))
				.status,
		).toBe(303);
		expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	});

	it('answers 503 when the lead cannot be stored, and creates no payment link', async () => {
		const before = bench.gateways.checkouts.size;
		await bench.s3.stop();
		try {
			const res = await postForm(form, { ...buyer, email: 'outage@example.com' });
			expect(res.status).toBe(503);
		} finally {
			await bench.s3.start();
		}
		expect(bench.gateways.checkouts.size).toBe(before);
	});
});

it('starts an execution per stored lead on the fast path when asked, after answering the buyer', async () => {
	const email = 'seen-in-the-execution-list@example.com';
	const res = await postForm('checkout/lead/fast-with-executions', { ...buyer, email });
	expect(res.status).toBe(303);
	const runs = await waitFor(
		'the execution of that lead',
		async () => {
			const found = executionsHolding(bench.n8n, email);
			return found.length && found.every((r) => r.status !== 'running' && r.status !== 'new')
				? found
				: undefined;
		},
		{ timeoutMs: 30_000, intervalMs: 500 },
	);
	expect(runs.map((r) => r.status)).toEqual(['success']);
	// The shipped fast path (option off) starts none.
	const quiet = 'no-execution-for-me@example.com';
	expect((await postForm('checkout/lead/fast', { ...buyer, email: quiet })).status).toBe(303);
	await new Promise((r) => setTimeout(r, 2000));
	expect(executionsHolding(bench.n8n, quiet)).toEqual([]);
});

it("keeps the buyers' personal data out of n8n: no successful execution holds it, nor does n8n's log", () => {
	// Every test above posted this buyer; the lead is in the archive (and later Pipedrive), where the
	// README says it is kept. A failed execution keeps its data for the operator (and is pruned by n8n).
	// n8n marks a successful execution it does not save as deleted at once and hard-deletes it on its next
	// pruning pass (every 15 minutes by default): none is kept.
	const holding = executionsHolding(bench.n8n, buyer.email);
	expect(holding.filter((e) => e.deletedAt === null)).toEqual([]);
	const log = bench.n8n.log();
	expect(log.length).toBeGreaterThan(0);
	for (const personal of [
		buyer.email,
		'52998224725',
		'529.982.247-25',
		'+5511987654321',
		'98765-4321',
	])
		expect(log).not.toContain(personal);
});
