import { parseCatalog } from '../../lib/forms/catalog';
import { isValidCnpj, isValidCpf } from '../../lib/forms/documents';
import { leadRevision, leadRevisionAt, uuidv7 } from '../../lib/forms/ids';
import {
	readFormFields,
	validateLead as validateWith,
	type LeadOptions,
} from '../../lib/forms/lead';
import { toE164 } from '../../lib/forms/phone';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const CATALOG = parseCatalog(
	[
		{ key: 'curso', name: 'Curso', price: '199,90', pagePaths: '/curso' },
		{
			key: 'mentoria',
			name: 'Mentoria',
			price: '497',
			formIds: 'f-mentoria',
			pagePaths: '/mentoria/',
		},
		{
			key: 'doacao',
			name: 'Doação',
			openPrice: true,
			minimumPrice: '5,00',
			formNames: 'Doe agora',
		},
	],
	'BRL',
);
const validateLead = (
	body: unknown,
	query: Record<string, unknown> = {},
	options: Partial<LeadOptions> = {},
) => validateWith(body, query, { catalog: CATALOG, ...options });
const good = {
	nome: 'José da Silva Ñandú',
	'e-mail': 'Jose@Example.com',
	telefone: '(11) 98765-4321',
	cpf: '529.982.247-25',
	produto: 'Curso',
	valor: '199,90',
	lgpd: 'on',
};

describe('documents and phones', () => {
	it.each([
		['529.982.247-25', true],
		['52998224725', true],
		['529.982.247-26', false],
		['111.111.111-11', false],
		['123', false],
	])('CPF %s valid: %s', (cpf, valid) => expect(isValidCpf(cpf)).toBe(valid));

	it.each([
		['11.222.333/0001-81', true],
		['11.222.333/0001-82', false],
		['00.000.000/0000-00', false],
	])('CNPJ %s valid: %s', (cnpj, valid) => expect(isValidCnpj(cnpj)).toBe(valid));

	it.each([
		['(11) 98765-4321', '+5511987654321'],
		['11 98765 4321', '+5511987654321'],
		['+55 11 98765-4321', '+5511987654321'],
		['5511987654321', '+5511987654321'],
		['(21) 3456-7890', '+552134567890'],
		['+1 415 555 2671', '+14155552671'],
		['98765-4321', undefined],
		['(11) 8765-43210', undefined],
	])('%s → %s', (input, e164) => expect(toE164(input)).toBe(e164));
});

describe('lead validation', () => {
	it('accepts a Brazilian buyer from a plain HTML form: E.164 phone, CPF digits, exact cents, consent recorded', () => {
		const result = validateLead(
			{ ...good, utm_source: 'instagram', utm_campaign: 'black-friday' },
			{},
			{ now: NOW, referer: 'https://loja.example/checkout' },
		);
		expect(result).toEqual({
			ok: true,
			lead: {
				name: 'José da Silva Ñandú',
				email: 'jose@example.com',
				phone: '+5511987654321',
				document: '52998224725',
				documentKind: 'cpf',
				product: 'Curso',
				productKey: 'curso',
				amount: 19990,
				currency: 'BRL',
				consent: { given: true, at: new Date(NOW).toISOString() },
				utm: { utm_source: 'instagram', utm_campaign: 'black-friday' },
				referrer: 'https://loja.example/checkout',
				form: { id: undefined, name: undefined, kind: 'fields' },
			},
		});
	});

	it('names every bad field', () => {
		const result = validateLead({
			nome: '',
			'e-mail': 'not-an-email',
			telefone: '123',
			cpf: '111.111.111-11',
			produto: 'Sapato',
			valor: 'abc',
		});
		expect(result.ok).toBe(false);
		expect(result.ok === false && result.errors.map((e) => e.field)).toEqual([
			'name',
			'email',
			'phone',
			'document',
			'product',
			'consent',
		]);
		expect(result.ok === false && result.status).toBe(422);
	});

	it('reads the buyer address from Portuguese or English field names: CEP as 8 digits, UF in capitals; a bad CEP is named', () => {
		const address = {
			cep: '01310-100',
			Endereço: 'Av. Paulista',
			número: '1000',
			complemento: 'apto 12',
			bairro: 'Bela Vista',
			cidade: 'São Paulo',
			uf: 'sp',
		};
		const result = validateLead({ ...good, ...address }, {}, { now: NOW });
		expect(result.ok === true && result.lead.address).toEqual({
			postalCode: '01310100',
			street: 'Av. Paulista',
			number: '1000',
			complement: 'apto 12',
			district: 'Bela Vista',
			city: 'São Paulo',
			state: 'SP',
		});
		const english = validateLead(
			{ ...good, zip: 'SW1A 1AA', street: 'Downing St', number: '10' },
			{},
			{ now: NOW, currency: 'GBP' },
		);
		expect(english.ok === true && english.lead.address).toEqual({
			postalCode: 'SW1A 1AA',
			street: 'Downing St',
			number: '10',
		});
		expect(validateLead(good, {}, { now: NOW })).toMatchObject({
			ok: true,
			lead: expect.not.objectContaining({ address: expect.anything() }),
		});
		for (const cep of ['0131-100', '01310-1000', 'abc01310100']) {
			expect(validateLead({ ...good, cep }, {}, { now: NOW })).toEqual({
				ok: false,
				status: 422,
				errors: [{ field: 'postalCode', message: 'is not a valid CEP (8 digits, e.g. 01310-100)' }],
			});
		}
		const required = validateLead(
			{ ...good, cep: '01310-100' },
			{},
			{ now: NOW, requireAddress: true },
		);
		expect(required.ok === false && required.errors.map((e) => e.field)).toEqual([
			'street',
			'number',
		]);
		const mapped = validateLead(
			{ ...good, campo_7: '20040-002' },
			{},
			{ now: NOW, mapping: { postalCode: ['campo_7'] } },
		);
		expect(mapped.ok === true && mapped.lead.address).toEqual({ postalCode: '20040002' });
	});

	it('silently drops a bot that filled the honeypot', () => {
		expect(validateLead({ ...good, website: 'http://spam.example' })).toEqual({
			ok: 'bot',
			field: 'website',
		});
	});

	it('refuses markup, 1 MB fields and undecodable bytes, naming the field', () => {
		const script = validateLead({
			...good,
			nome: '<b>Ana</b><script>alert(1)</script> Souza',
			cidade: '</textarea><img src=x>',
		});
		expect(script).toEqual({
			ok: false,
			status: 422,
			errors: [
				{ field: 'nome', message: 'must not contain HTML markup' },
				{ field: 'cidade', message: 'must not contain HTML markup' },
			],
		});
		// A "<" that opens no tag is text.
		const text = validateLead({ ...good, nome: '  Ana   <3  Souza ', rua: 'Rua A < B' });
		expect(text.ok === true && text.lead.name).toBe('Ana <3 Souza');
		const huge = validateLead({ ...good, nome: 'x'.repeat(1024 * 1024) });
		expect(huge).toEqual({
			ok: false,
			status: 413,
			errors: [{ field: 'body', message: expect.stringMatching(/too large/) }],
		});
		const long = validateLead({ ...good, nome: 'x'.repeat(3000) });
		expect(long).toEqual({
			ok: false,
			status: 422,
			errors: [{ field: 'nome', message: expect.stringMatching(/too long/) }],
		});
		const broken = validateLead({ ...good, nome: 'Jo\uFFFDo' });
		expect(broken).toEqual({
			ok: false,
			status: 422,
			errors: [{ field: 'nome', message: 'contains characters that are not text' }],
		});
	});

	it('reads an Elementor Pro webhook in simple mode (labels) and advanced mode (fields[id][value])', () => {
		const simple = validateLead(
			{
				Nome: 'Ana',
				'E-mail': 'ana@example.com',
				Telefone: '11987654321',
				CPF: '52998224725',
				Produto: 'Curso',
				Valor: '0,10',
				'Aceito a política de privacidade': 'on',
				form_id: 'abc123',
				form_name: 'Checkout',
			},
			{},
			{ mapping: { consent: ['aceito a politica de privacidade'] } },
		);
		expect(simple.ok === true && simple.lead).toMatchObject({
			name: 'Ana',
			amount: 19990,
			form: { id: 'abc123', name: 'Checkout', kind: 'elementor-simple' },
		});

		// As n8n's body parser may hand it over: PHP-style keys not nested.
		const advancedFlat = {
			'form[id]': 'f1',
			'form[name]': 'Checkout',
			'fields[name][title]': 'Nome',
			'fields[name][value]': 'Ana',
			'fields[email][title]': 'E-mail',
			'fields[email][value]': 'ana@example.com',
			'fields[produto][value]': 'Curso',
			'fields[valor][value]': '0,01',
			'fields[lgpd][value]': 'on',
			'meta[page_url][value]': 'https://loja.example/p',
		};
		const advanced = validateLead(advancedFlat);
		expect(advanced.ok === true && advanced.lead).toMatchObject({
			name: 'Ana',
			email: 'ana@example.com',
			amount: 19990,
			referrer: 'https://loja.example/p',
			form: { id: 'f1', kind: 'elementor-advanced' },
		});
		expect(readFormFields({ fields: { email: { value: 'a@b.co', title: 'E-mail' } } }).kind).toBe(
			'elementor-advanced',
		);
	});

	it('takes GET query parameters (the redirect-with-fields pattern); a one-product form is priced by its form id or page', () => {
		const byForm = validateLead({
			name: 'Ana',
			email: 'ana@example.com',
			consent: 'true',
			form_id: 'f-mentoria',
		});
		expect(byForm.ok === true && byForm.lead).toMatchObject({
			product: 'Mentoria',
			productKey: 'mentoria',
			amount: 49700,
		});
		const byPage = validateLead(
			{},
			{ name: 'Ana', email: 'ana@example.com', consent: 'true' },
			{ referer: 'https://loja.example/Mentoria?utm_source=x' },
		);
		expect(byPage.ok === true && byPage.lead).toMatchObject({ product: 'Mentoria', amount: 49700 });
	});
});
it('makes time-sortable UUIDv7 ids', () => {
	const a = uuidv7(NOW);
	const b = uuidv7(NOW + 1);
	expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	expect(a < b).toBe(true);
	expect(a.slice(0, 13).replace('-', '')).toBe(NOW.toString(16).padStart(12, '0'));
});

describe('hostile input', () => {
	const clean = () => expect(({} as Record<string, unknown>).polluted).toBeUndefined();
	afterEach(() => {
		delete (Object.prototype as Record<string, unknown>).polluted;
	});

	it.each([
		['a PHP-style key', { ...good, '__proto__[polluted]': 'yes' }, '__proto__[polluted]'],
		[
			'a nested PHP-style key',
			{ ...good, 'fields[__proto__][polluted]': 'yes' },
			'fields[__proto__][polluted]',
		],
		[
			'constructor.prototype',
			{ ...good, 'constructor[prototype][polluted]': 'yes' },
			'constructor[prototype][polluted]',
		],
		[
			'a JSON "__proto__" key',
			JSON.parse(`{"nome":"Ana","__proto__":{"polluted":"yes"}}`),
			'__proto__',
		],
		[
			'a JSON key deep down',
			JSON.parse(`{"fields":{"email":{"value":"a@b.co","__proto__":{"polluted":"yes"}}}}`),
			'fields[email][__proto__]',
		],
	])('refuses %s with a 422 naming it, and Object.prototype stays clean', (_what, body, field) => {
		const result = validateLead(body, {}, { now: NOW });
		expect(result).toEqual({
			ok: false,
			status: 422,
			errors: [{ field, message: expect.stringMatching(/not an allowed field name/) }],
		});
		clean();
	});

	it('refuses a query parameter named constructor, prototype or __proto__', () => {
		const query = JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}') as Record<
			string,
			unknown
		>;
		expect(validateLead(good, query, { now: NOW })).toMatchObject({
			ok: false,
			status: 422,
			errors: [{ field: 'constructor' }],
		});
		clean();
	});

	it('builds only prototype-free objects from request data', () => {
		const read = readFormFields({
			'fields[email][value]': 'a@b.co',
			'fields[email][title]': 'E-mail',
			'fields[toString][value]': 'x',
		});
		expect(read.kind).toBe('elementor-advanced');
		expect(read.fields.get('tostring')).toBe('x');
		expect(read.fields.get('email')).toBe('a@b.co');
	});

	it('caps field count, key length, nesting depth and body size', () => {
		const many = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`f${i}`, 'x']));
		expect(validateLead({ ...good, ...many })).toMatchObject({
			ok: false,
			status: 413,
			errors: [{ message: expect.stringMatching(/300 fields/) }],
		});
		expect(validateLead({ ...good, ['k'.repeat(101)]: 'x' })).toMatchObject({
			ok: false,
			status: 422,
			errors: [{ message: expect.stringMatching(/longer than 100/) }],
		});
		expect(validateLead({ ...good, 'a[b][c][d][e][f][g]': 'x' })).toMatchObject({
			ok: false,
			status: 422,
			errors: [{ field: 'a[b][c][d][e][f][g]', message: expect.stringMatching(/deeper/) }],
		});
		let deep: unknown = 'x';
		for (let i = 0; i < 10; i++) deep = { d: deep };
		expect(validateLead({ ...good, deep })).toMatchObject({
			ok: false,
			status: 422,
			errors: [{ message: expect.stringMatching(/deeper/) }],
		});
		expect(validateLead({ ...good, nome: 'x'.repeat(2 * 1024 * 1024) })).toMatchObject({
			ok: false,
			status: 413,
			errors: [{ field: 'body' }],
		});
	});

	it('refuses a body that is not a form or JSON (415), and one that is not an object (422)', () => {
		expect(validateLead('nome=Ana', {}, { contentType: 'text/plain' })).toMatchObject({
			ok: false,
			status: 415,
			errors: [{ field: 'content-type' }],
		});
		expect(validateLead(good, {}, { contentType: 'application/xml' })).toMatchObject({
			ok: false,
			status: 415,
		});
		expect(validateLead(['a', 'b'], {}, { contentType: 'application/json' })).toMatchObject({
			ok: false,
			status: 422,
			errors: [{ field: 'body' }],
		});
		expect(
			validateLead(
				good,
				{},
				{ contentType: 'application/x-www-form-urlencoded; charset=UTF-8', now: NOW },
			).ok,
		).toBe(true);
		expect(
			validateLead(good, {}, { contentType: 'multipart/form-data; boundary=x', now: NOW }).ok,
		).toBe(true);
		// A GET: no body, whatever the (absent) content type.
		expect(validateLead({}, { ...good }, { contentType: '', now: NOW }).ok).toBe(true);
	});
});

describe('prices come from the shop', () => {
	it('ignores the price a form sends for a catalog product', () => {
		for (const valor of ['0,01', '-5', '99999999', '']) {
			const result = validateLead({ ...good, valor }, { valor: '0,01' }, { now: NOW });
			expect(result.ok === true && result.lead).toMatchObject({
				product: 'Curso',
				amount: 19990,
				currency: 'BRL',
			});
		}
	});

	it('refuses a product the shop does not sell, and a form it cannot place', () => {
		expect(validateLead({ ...good, produto: 'Curso grátis' })).toMatchObject({
			ok: false,
			errors: [{ field: 'product', message: 'is not a product of this shop' }],
		});
		const { produto: _produto, ...withoutProduct } = good;
		expect(validateLead(withoutProduct)).toMatchObject({
			ok: false,
			errors: [{ field: 'product', message: 'is required' }],
		});
		// A one-product shop: the one row that names no form takes every form.
		const single = parseCatalog(
			[{ key: 'ebook', name: 'E-book', price: '29,90', currency: 'usd' }],
			'BRL',
		);
		const result = validateWith(withoutProduct, {}, { catalog: single, now: NOW });
		expect(result.ok === true && result.lead).toMatchObject({
			product: 'E-book',
			amount: 2990,
			currency: 'USD',
		});
	});

	it('takes the form amount only for an open-price row, at least its minimum', () => {
		const donation = (valor: string) =>
			validateLead({ ...good, produto: '', valor, form_name: 'Doe agora' }, {}, { now: NOW });
		expect(donation('50,00')).toMatchObject({
			ok: true,
			lead: { product: 'Doação', amount: 5000 },
		});
		expect(donation('4,99')).toMatchObject({
			ok: false,
			errors: [{ field: 'price', message: 'must be at least 5.00 BRL' }],
		});
		expect(donation('')).toMatchObject({
			ok: false,
			errors: [{ field: 'price', message: 'is required' }],
		});
	});

	it('checks the catalog the shop owner wrote', () => {
		expect(() => parseCatalog([{ key: 'a', name: 'A', price: '0' }], 'BRL')).toThrow(
			/price above zero/,
		);
		expect(() => parseCatalog([{ key: 'a', name: 'A', price: 'dez' }], 'BRL')).toThrow(
			/not an amount/,
		);
		expect(() =>
			parseCatalog(
				[
					{ key: 'a', price: '1' },
					{ key: 'A', price: '2' },
				],
				'BRL',
			),
		).toThrow(/twice/);
		expect(() => parseCatalog([{ key: 'a', price: '1', currency: 'reais' }], 'BRL')).toThrow(
			/ISO 4217/,
		);
	});
});

describe('lead revisions', () => {
	it('is equal for a double submit and differs for a correction', () => {
		const first = validateLead(good, {}, { now: NOW });
		const again = validateLead(good, {}, { now: NOW + 60_000 });
		const corrected = validateLead({ ...good, produto: 'mentoria' }, {}, { now: NOW + 60_000 });
		if (first.ok !== true || again.ok !== true || corrected.ok !== true)
			throw new Error('expected valid leads');
		const id = 'a'.repeat(8);
		expect(leadRevision({ leadId: id, capturedAt: 'x', ...first.lead })).toBe(
			leadRevision({ leadId: id, capturedAt: 'y', ...again.lead }),
		);
		expect(leadRevision({ leadId: id, ...corrected.lead })).not.toBe(
			leadRevision({ leadId: id, ...first.lead }),
		);
	});

	it('gives every post its own revision id, so that a correction back to earlier values (A → B → A) is the newest', () => {
		const a = validateLead(good, {}, { now: NOW });
		if (a.ok !== true) throw new Error('expected a valid lead');
		const id = 'a'.repeat(8);
		const first = leadRevisionAt({ leadId: id, ...a.lead }, NOW);
		const again = leadRevisionAt({ leadId: id, ...a.lead }, NOW + 90_000);
		expect(again).not.toBe(first);
		expect(again.startsWith(leadRevision({ leadId: id, ...a.lead }))).toBe(true);
		expect(first).toMatch(/^[0-9a-z]+$/);
	});

	it('keeps an Elementor checkout token out of the lead, and refuses one that is not random-looking', () => {
		const token = '0f8e3a52-8b1d-4c3e-9a77-2b6f5d4c3a21';
		const result = validateLead(
			{ ...good, checkout_token: token },
			{},
			{ now: NOW, requireCheckoutToken: true },
		);
		expect(result).toMatchObject({ ok: true, checkoutToken: token });
		expect(JSON.stringify(result.ok === true && result.lead)).not.toContain(token);
		expect(
			validateLead({ ...good, checkout_token: '1234' }, {}, { requireCheckoutToken: true }),
		).toMatchObject({ ok: false, errors: [{ field: 'checkoutToken' }] });
		expect(validateLead(good, {}, { requireCheckoutToken: true })).toMatchObject({
			ok: false,
			errors: [{ field: 'checkoutToken', message: expect.stringMatching(/required/) }],
		});
	});
});

describe('one buyer, one address', () => {
	const errorsOf = (body: Record<string, unknown>) => {
		const result = validateLead(body, {}, { now: NOW });
		return result.ok === false ? result.errors : [];
	};

	it('refuses a lead field sent twice with different values, naming it; the same value twice, or a consent checkbox with its hidden fallback, is fine', () => {
		expect(errorsOf({ ...good, 'e-mail': ['ana@example.com', 'mallory@example.net'] })).toEqual([
			{ field: 'email', message: 'was sent more than once with different values' },
		]);
		expect(errorsOf({ ...good, nome: ['Ana', 'Mallory'] })).toEqual([
			{ field: 'name', message: 'was sent more than once with different values' },
		]);
		expect(errorsOf({ ...good, 'e-mail': ['ana@example.com', 'ana@example.com'] })).toEqual([]);
		expect(errorsOf({ ...good, lgpd: ['0', 'on'] })).toEqual([]);
	});

	it('refuses an e-mail with invisible characters, and stores a Unicode domain in its ASCII form', () => {
		for (const hidden of ['\u200B', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u202E'])
			expect(errorsOf({ ...good, 'e-mail': `ana${hidden}@example.com` })).toEqual([
				{ field: 'email', message: 'contains invisible characters (type the address again)' },
			]);
		const lead = (email: string) => {
			const result = validateLead({ ...good, 'e-mail': email }, {}, { now: NOW });
			if (result.ok !== true) throw new Error(JSON.stringify(result));
			return result.lead.email;
		};
		// A Cyrillic "а" in the domain: another domain, kept visibly apart in its punycode form.
		expect(lead('ana@exаmple.com')).toBe('ana@xn--exmple-4nf.com');
		// The same address typed in Unicode or in punycode is one address.
		expect(lead('Ana@Exemplo-Ação.com.br')).toBe(lead('ana@xn--exemplo-ao-n5a1c.com.br'));
		expect(lead('ANA@EXAMPLE.COM')).toBe('ana@example.com');
	});
});

describe('Elementor as a shop sets it up', () => {
	it('simple mode with Portuguese labels: the consent sentence counts as consent, and the UTM data and page come from "Page URL"', () => {
		const result = validateLead(
			{
				form_id: 'f-mentoria',
				form_name: 'Checkout',
				Nome: 'Maria Ângela',
				'E-mail': 'maria@example.com',
				CPF: '529.982.247-25',
				'Aceito a política de privacidade': 'on',
				'Page URL': 'https://loja.example/mentoria/?utm_source=instagram&utm_campaign=bf',
				Referer: 'https://www.instagram.com/',
			},
			{},
			{ now: NOW },
		);
		if (result.ok !== true) throw new Error(JSON.stringify(result));
		expect(result.lead).toMatchObject({
			consent: { given: true },
			utm: { utm_source: 'instagram', utm_campaign: 'bf' },
			referrer: 'https://www.instagram.com/',
			product: 'Mentoria',
		});
	});

	it('refuses a consent sentence left unticked, and keeps a form UTM field over the page address', () => {
		const base = {
			Nome: 'Maria Ângela',
			'E-mail': 'maria@example.com',
			produto: 'Curso',
			'Page URL': 'https://loja.example/curso?utm_source=page',
		};
		const unticked = validateLead(
			{ ...base, 'Li e concordo com os termos de uso': 'no' },
			{},
			{ now: NOW },
		);
		expect(unticked.ok === false && unticked.errors).toEqual([
			{ field: 'consent', message: 'must be accepted (LGPD)' },
		]);
		const own = validateLead(
			{ ...base, utm_source: 'newsletter', 'Autorizo o uso dos meus dados (LGPD)': 'sim' },
			{},
			{ now: NOW },
		);
		if (own.ok !== true) throw new Error(JSON.stringify(own));
		expect(own.lead.utm).toEqual({ utm_source: 'newsletter' });
	});
});
