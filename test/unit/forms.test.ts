import { isValidCnpj, isValidCpf } from '../../lib/forms/documents';
import { uuidv7 } from '../../lib/forms/ids';
import { readFormFields, validateLead } from '../../lib/forms/lead';
import { toE164 } from '../../lib/forms/phone';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const good = { nome: 'José da Silva Ñandú', 'e-mail': 'Jose@Example.com', telefone: '(11) 98765-4321', cpf: '529.982.247-25', produto: 'Curso', valor: '199,90', lgpd: 'on' };

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
		const result = validateLead({ ...good, utm_source: 'instagram', utm_campaign: 'black-friday' }, {}, { now: NOW, referer: 'https://loja.example/checkout' });
		expect(result).toEqual({
			ok: true,
			lead: {
				name: 'José da Silva Ñandú',
				email: 'jose@example.com',
				phone: '+5511987654321',
				document: '52998224725',
				documentKind: 'cpf',
				product: 'Curso',
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
		const result = validateLead({ nome: '', 'e-mail': 'not-an-email', telefone: '123', cpf: '111.111.111-11', produto: 'Curso', valor: 'abc' });
		expect(result.ok).toBe(false);
		expect(result.ok === false && result.errors.map((e) => e.field)).toEqual(['name', 'email', 'phone', 'document', 'price', 'consent']);
	});

	it('reads the buyer address from Portuguese or English field names: CEP as 8 digits, UF in capitals; a bad CEP is named', () => {
		const address = { cep: '01310-100', 'Endereço': 'Av. Paulista', 'número': '1000', complemento: 'apto 12', bairro: 'Bela Vista', cidade: 'São Paulo', uf: 'sp' };
		const result = validateLead({ ...good, ...address }, {}, { now: NOW });
		expect(result.ok === true && result.lead.address).toEqual({ postalCode: '01310100', street: 'Av. Paulista', number: '1000', complement: 'apto 12', district: 'Bela Vista', city: 'São Paulo', state: 'SP' });
		const english = validateLead({ ...good, zip: 'SW1A 1AA', street: 'Downing St', number: '10' }, {}, { now: NOW, currency: 'GBP' });
		expect(english.ok === true && english.lead.address).toEqual({ postalCode: 'SW1A 1AA', street: 'Downing St', number: '10' });
		expect(validateLead(good, {}, { now: NOW })).toMatchObject({ ok: true, lead: expect.not.objectContaining({ address: expect.anything() }) });
		for (const cep of ['0131-100', '01310-1000', 'abc01310100']) {
			expect(validateLead({ ...good, cep }, {}, { now: NOW })).toEqual({ ok: false, errors: [{ field: 'postalCode', message: 'is not a valid CEP (8 digits, e.g. 01310-100)' }] });
		}
		const required = validateLead({ ...good, cep: '01310-100' }, {}, { now: NOW, requireAddress: true });
		expect(required.ok === false && required.errors.map((e) => e.field)).toEqual(['street', 'number']);
		const mapped = validateLead({ ...good, campo_7: '20040-002' }, {}, { now: NOW, mapping: { postalCode: ['campo_7'] } });
		expect(mapped.ok === true && mapped.lead.address).toEqual({ postalCode: '20040002' });
	});

	it('silently drops a bot that filled the honeypot', () => {
		expect(validateLead({ ...good, website: 'http://spam.example' })).toEqual({ ok: 'bot', field: 'website' });
	});

	it('strips HTML, refuses 1 MB fields and undecodable bytes', () => {
		const stripped = validateLead({ ...good, nome: '<b>Ana</b><script>alert(1)</script> Souza' });
		expect(stripped.ok === true && stripped.lead.name).toBe('Ana Souza');
		const huge = validateLead({ ...good, nome: 'x'.repeat(1024 * 1024) });
		expect(huge).toEqual({ ok: false, errors: [{ field: 'nome', message: expect.stringMatching(/too long/) }] });
		const broken = validateLead({ ...good, nome: 'Jo\uFFFDo' });
		expect(broken).toEqual({ ok: false, errors: [{ field: 'nome', message: 'contains characters that are not text' }] });
	});

	it('reads an Elementor Pro webhook in simple mode (labels) and advanced mode (fields[id][value])', () => {
		const simple = validateLead({ Nome: 'Ana', 'E-mail': 'ana@example.com', Telefone: '11987654321', CPF: '52998224725', Produto: 'Curso', Valor: '10', 'Aceito a política de privacidade': 'on', form_id: 'abc123', form_name: 'Checkout' }, {}, { mapping: { consent: ['aceito a politica de privacidade'] } });
		expect(simple.ok === true && simple.lead).toMatchObject({ name: 'Ana', amount: 1000, form: { id: 'abc123', name: 'Checkout', kind: 'elementor-simple' } });

		// As n8n's body parser may hand it over: PHP-style keys not nested.
		const advancedFlat = {
			'form[id]': 'f1',
			'form[name]': 'Checkout',
			'fields[name][title]': 'Nome',
			'fields[name][value]': 'Ana',
			'fields[email][title]': 'E-mail',
			'fields[email][value]': 'ana@example.com',
			'fields[produto][value]': 'Curso',
			'fields[valor][value]': '10,00',
			'fields[lgpd][value]': 'on',
			'meta[page_url][value]': 'https://loja.example/p',
		};
		const advanced = validateLead(advancedFlat);
		expect(advanced.ok === true && advanced.lead).toMatchObject({ name: 'Ana', email: 'ana@example.com', amount: 1000, referrer: 'https://loja.example/p', form: { id: 'f1', kind: 'elementor-advanced' } });
		expect(readFormFields({ fields: { email: { value: 'a@b.co', title: 'E-mail' } } }).kind).toBe('elementor-advanced');
	});

	it('takes GET query parameters (the redirect-with-fields pattern) and defaults for one-product forms', () => {
		const result = validateLead({}, { name: 'Ana', email: 'ana@example.com', consent: 'true' }, { defaultProduct: 'Mentoria', defaultPrice: '497' });
		expect(result.ok === true && result.lead).toMatchObject({ product: 'Mentoria', amount: 49700 });
	});
});

it('makes time-sortable UUIDv7 ids', () => {
	const a = uuidv7(NOW);
	const b = uuidv7(NOW + 1);
	expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
	expect(a < b).toBe(true);
	expect(a.slice(0, 13).replace('-', '')).toBe(NOW.toString(16).padStart(12, '0'));
});

it('gives one lead id per buyer e-mail and 30-minute window, found again from the redirect', async () => {
	const { candidateLeadIds, deterministicLeadId, LEAD_BUCKET_MS } = await import('../../lib/forms/ids');
	const t = Math.floor(NOW / LEAD_BUCKET_MS) * LEAD_BUCKET_MS + LEAD_BUCKET_MS - 1000; // 1 s before a window ends
	const id = deterministicLeadId('Ana@Example.com ', t);
	expect(deterministicLeadId('ana@example.com', t - 60_000)).toBe(id);
	expect(deterministicLeadId('bia@example.com', t)).not.toBe(id);
	expect(candidateLeadIds('ana@example.com', t + 5000)).toEqual([expect.not.stringMatching(id), id]); // the redirect came in the next window
	expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
});
