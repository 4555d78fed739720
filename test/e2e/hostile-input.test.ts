/**
 * What the open internet sends, against the real n8n running the exported workflows (lead capture, the
 * fast and the visual payment intake, the archive sweep and the payment event processor) with the S3
 * server, the machine's RabbitMQ and the Pipedrive and gateway stand-ins. Each attack gets its documented
 * answer (SECURITY.md); after each one, nothing new is in the archive, and the instance still answers a
 * valid form and a valid webhook. At the end the pipeline has delivered exactly the valid leads to
 * Pipedrive: nothing an attacker sent reached it, and nothing is dead-lettered.
 */
import { randomUUID } from 'node:crypto';

import type { ChannelModel } from 'amqplib';

import { S3Archive } from '../../lib/archive/archive';
import { normaliseKey } from '../../lib/forms/lead';
import { signMercadoPago } from '../../lib/gateways/mercadopago';
import { signStripePayload } from '../../lib/gateways/stripe';
import { signLinkToken } from '../../lib/links/checkoutLinks';
import { E2eStack } from '../../testbench/e2eStack';
import type { N8nInstance } from '../../testbench/n8n';
import { waitFor } from '../../testbench/ports';
import { drainQueue, uniqueTopology } from '../../testbench/rabbitmq';
import type { GatewayStandIn } from '../../testbench/standins/gateways';
import type { PipedriveStandIn } from '../../testbench/standins/pipedrive';
import { GATEWAY_KEYS, LOCAL_LINKS_SECRET } from '../../testbench/credentials';
import { exportedWorkflowForTest } from '../../testbench/workflows';

jest.setTimeout(600_000);

const BUCKET = 'hostile';
const PREFIX = 'hostile';
const topology = uniqueTopology('e2e-hostile');
let broker: ChannelModel;
let gateways: GatewayStandIn;
let pd: PipedriveStandIn;
let n8n: N8nInstance;
let archive: S3Archive;
let stack: E2eStack;

beforeAll(async () => {
	stack = await E2eStack.start({
		s3: { bucket: BUCKET, prefix: PREFIX },
		topology,
		pipedrive: true,
		gateways: true,
		links: 'ownPayUrl',
		workflows: [
			exportedWorkflowForTest('checkout-lead-capture.json', { prefix: PREFIX }),
			exportedWorkflowForTest('checkout-lead-capture-fast.json', { prefix: PREFIX }),
			exportedWorkflowForTest('payment-webhook-fast-intake.json', { prefix: PREFIX }),
			exportedWorkflowForTest('payment-webhook-intake.json', { prefix: PREFIX }),
			exportedWorkflowForTest('archive-sweep.json', {
				prefix: PREFIX,
				topology,
				scheduleSeconds: 2,
			}),
			exportedWorkflowForTest('payment-event-processor.json', {
				prefix: PREFIX,
				topology,
				retryDelaySeconds: 1,
			}),
		],
		ready: async (instance) =>
			(
				await fetch(instance.webhookUrl('checkout/lead'), {
					method: 'POST',
					headers: { accept: 'application/json' },
				})
			).status === 422 &&
			(
				await fetch(instance.webhookUrl('checkout/lead/fast'), {
					method: 'POST',
					headers: { accept: 'application/json' },
				})
			).status === 422 &&
			(await fetch(instance.webhookUrl('checkout/fast/stripe'), { method: 'POST', body: '{}' }))
				.status === 401,
	});
	({ n8n, broker, gateways, pd, archive } = stack);
});

afterAll(async () => {
	await stack?.stop();
});

interface Answer {
	status: number;
	text: string;
	location: string | null;
}

async function send(
	path: string,
	init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
	const res = await fetch(n8n.webhookUrl(path), {
		method: init.method ?? 'POST',
		body: init.body,
		headers: init.headers,
		redirect: 'manual',
	});
	return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
const JSON_BODY = { 'content-type': 'application/json', accept: 'application/json' };

const buyer = (email: string) => ({
	nome: 'Ana Souza',
	email,
	telefone: '(11) 98765-4321',
	cpf: '529.982.247-25',
	produto: 'Curso de fotografia',
	cep: '01310-100',
	rua: 'Avenida Paulista',
	numero: '1000',
	bairro: 'Bela Vista',
	cidade: 'São Paulo',
	uf: 'SP',
	lgpd: 'on',
	utm_source: 'instagram',
});
const ATTACKER = 'attacker@example.com';

/** The ids of everything archived (pending or relayed): a move between the two changes nothing here. */
async function archivedIds(): Promise<Set<string>> {
	const ids = new Set<string>();
	for (const state of ['pending', 'relayed'] as const)
		for await (const page of archive.walk(state)) for (const o of page) ids.add(o.safeEventId);
	return ids;
}

const validEmails: string[] = [];
const stripeProbe = JSON.stringify({
	id: 'evt_hostile_probe',
	object: 'event',
	type: 'customer.created',
	created: Math.floor(Date.now() / 1000),
	data: { object: { id: 'cus_probe' } },
});
const stripeSigned = (
	body: string,
	secret = GATEWAY_KEYS.stripe.webhookSecret,
	t = Math.floor(Date.now() / 1000),
) => ({
	'content-type': 'application/json',
	'stripe-signature': signStripePayload(body, secret, t),
});

/** The lead capture under attack (the form tests run against both): the one whose next valid post is checked. */
let formUnderAttack = 'checkout/lead';

/** A valid form and a valid webhook still get their answers: the attack changed nothing for the next request. */
async function stillServing(after: string): Promise<void> {
	const email = `valid-${validEmails.length}@example.com`;
	const lead = await send(formUnderAttack, { body: form(buyer(email)), headers: FORM });
	expect({ after, status: lead.status }).toEqual({ after, status: 303 });
	validEmails.push(email);
	const webhook = await send('checkout/fast/stripe', {
		body: stripeProbe,
		headers: stripeSigned(stripeProbe),
	});
	expect({ after, status: webhook.status }).toEqual({ after, status: 200 });
}

/** Sends an attack, checks its answer, that it archived nothing, and that the instance still serves. */
async function attack(
	name: string,
	run: () => Promise<Answer>,
	expected: number | ((a: Answer) => boolean),
	field?: string,
): Promise<Answer> {
	const before = await archivedIds();
	const answer = await run();
	const ok = typeof expected === 'number' ? answer.status === expected : expected(answer);
	if (!ok) throw new Error(`${name}: answered ${answer.status} ${answer.text.slice(0, 300)}`);
	// The 422 names the field as the form sent it, read case- and punctuation-insensitively (utm_source: "utmsource").
	if (field)
		expect({
			name,
			fields: (JSON.parse(answer.text) as { fields: Array<{ field: string }> }).fields.map((f) =>
				normaliseKey(f.field),
			),
		}).toEqual({ name, fields: expect.arrayContaining([normaliseKey(field)]) });
	const after = await archivedIds();
	expect({ name, added: [...after].filter((id) => !before.has(id)) }).toEqual({ name, added: [] });
	await stillServing(name);
	return answer;
}

beforeAll(async () => {
	// The probe webhook is archived once here; every later probe is its duplicate.
	expect(
		(await send('checkout/fast/stripe', { body: stripeProbe, headers: stripeSigned(stripeProbe) }))
			.status,
	).toBe(200);
});

/** The shop's HTML form posts to either lead capture: the fast trigger or the visual workflow. */
const FORMS: Array<[string, string]> = [
	['fast trigger (checkout/lead/fast)', 'checkout/lead/fast'],
	['visual workflow (checkout/lead)', 'checkout/lead'],
];

describe.each(FORMS)('the lead form on the %s', (_name, formPath) => {
	beforeAll(() => {
		formUnderAttack = formPath;
	});
	afterAll(() => {
		formUnderAttack = 'checkout/lead';
	});

	it('refuses prototype keys in JSON, forms and Elementor posts with a 422 naming the key', async () => {
		await attack(
			'JSON __proto__',
			() =>
				send(formPath, {
					body: JSON.stringify(buyer(ATTACKER)).replace('{', '{"__proto__":{"polluted":"yes"},'),
					headers: JSON_BODY,
				}),
			422,
			'__proto__',
		);
		await attack(
			'form __proto__[x]',
			() =>
				send(formPath, {
					body: `__proto__%5Bpolluted%5D=yes&${form(buyer(ATTACKER))}`,
					headers: FORM,
				}),
			422,
			'__proto__[polluted]',
		);
		await attack(
			'JSON constructor.prototype',
			() =>
				send(formPath, {
					body: JSON.stringify({
						...buyer(ATTACKER),
						constructor: { prototype: { polluted: 'yes' } },
					}),
					headers: JSON_BODY,
				}),
			422,
			'constructor',
		);
		await attack(
			'Elementor fields[constructor][prototype]',
			() =>
				send('checkout/lead/elementor', {
					body: 'fields%5Bconstructor%5D%5Bprototype%5D%5Bpolluted%5D=yes',
					headers: FORM,
				}),
			(a) => a.status === 422,
		);
	});

	it('refuses bodies too large, of another type, or not JSON', async () => {
		await attack(
			'2 MB field',
			() =>
				send(formPath, {
					body: JSON.stringify({ ...buyer(ATTACKER), nome: 'x'.repeat(2 * 1024 * 1024) }),
					headers: JSON_BODY,
				}),
			413,
		);
		await attack(
			'10 MB form',
			() =>
				send(formPath, {
					body: `${form(buyer(ATTACKER))}&pad=${'x'.repeat(10 * 1024 * 1024)}`,
					headers: FORM,
				}),
			(a) => a.status === 413,
		);
		await attack(
			'text/plain',
			() =>
				send(formPath, {
					body: form(buyer(ATTACKER)),
					headers: { 'content-type': 'text/plain', accept: 'application/json' },
				}),
			415,
		);
		await attack(
			'not JSON',
			() => send(formPath, { body: '{"nome": "Ana",', headers: JSON_BODY }),
			422,
		);
		await attack(
			'a JSON array',
			() => send(formPath, { body: '[1,2,3]', headers: JSON_BODY }),
			422,
		);
	});

	it('refuses an e-mail sent twice with different values and one with an invisible character, naming the field', async () => {
		await attack(
			'email=a&email=b',
			() =>
				send(formPath, {
					body: `${form(buyer(ATTACKER))}&email=${encodeURIComponent('ana.souza@example.com')}`,
					headers: FORM,
				}),
			422,
			'email',
		);
		await attack(
			'a zero-width space in the e-mail',
			() =>
				send(formPath, {
					body: form(buyer('ana.souza\u200b@example.com')),
					headers: FORM,
				}),
			422,
			'email',
		);
	});

	const FIELDS = Object.keys(buyer(ATTACKER)).filter((f) => f !== 'lgpd');
	const HOSTILE: Array<[string, (field: string) => string, number]> = [
		['a script', () => '<script>alert(document.cookie)</script>', 422],
		['a null byte', () => 'Ana\u0000Souza', 422],
		['a 100 KB string', () => 'x'.repeat(100 * 1024), 413],
	];
	it.each(FIELDS)(
		'refuses a script, a null byte, invalid UTF-8 and a 100 KB string in "%s"',
		async (field) => {
			for (const [what, value, status] of HOSTILE) {
				await attack(
					`${what} in ${field}`,
					() =>
						send(formPath, {
							body: form({ ...buyer(ATTACKER), [field]: value(field) }),
							headers: FORM,
						}),
					status,
					status === 422 ? field : undefined,
				);
			}
			// Bytes that are not UTF-8 (an overlong and a lone continuation byte), percent-encoded as a browser would send them.
			const fields = { ...buyer(ATTACKER), [field]: 'PLACEHOLDER' };
			await attack(
				`invalid UTF-8 in ${field}`,
				() =>
					send(formPath, {
						body: form(fields).replace('PLACEHOLDER', '%C0%AF%80'),
						headers: FORM,
					}),
				422,
				field,
			);
		},
	);

	it('takes prices from the catalog only: a price in the form or the query is ignored, an unknown product refused', async () => {
		const before = gateways.checkouts.size;
		const cheap = await send(`${formPath}?valor=0,01&amount=1`, {
			body: form({
				...buyer('price-in-form@example.com'),
				valor: '0,01',
				amount: '1',
				price: '0.01',
			}),
			headers: FORM,
		});
		expect(cheap.status).toBe(303);
		validEmails.push('price-in-form@example.com');
		expect(gateways.checkouts.size).toBe(before + 1);
		const checkout = [...gateways.checkouts.values()].pop()!;
		expect(checkout.items.map((i) => i.unitAmount)).toEqual([19990]);
		await attack(
			'an unknown product',
			() =>
				send(formPath, {
					body: form({ ...buyer(ATTACKER), produto: 'Produto de R$ 0,01' }),
					headers: FORM,
				}),
			422,
			'product',
		);
	});
});

/** What the salesperson relies on for a buyer: her person and her deals' lead, link, value and owner person. */
function crmRecordOf(email: string) {
	const person = pd.state.persons.find((p) =>
		JSON.stringify(p.emails ?? []).includes(`"${email}"`),
	);
	if (!person) return undefined;
	const key = (name: string) => pd.state.dealFields.find((f) => f.name === name)?.key as string;
	const deals = pd.state.deals
		.filter((d) => d.person_id === person.id)
		.map((d) => {
			const custom = (d.custom_fields ?? {}) as Record<string, unknown>;
			return {
				id: d.id,
				title: d.title,
				value: d.value,
				status: d.status,
				personId: d.person_id,
				leadId: custom[key('Checkout lead id')],
				payLink: custom[key('Checkout payment link')],
			};
		});
	return { name: person.name, emails: person.emails, phones: person.phones, deals };
}

const notesOfDeal = (dealId: unknown) =>
	pd.state.notes.filter((n) => n.deal_id === dealId).map((n) => String(n.content));

describe("what a stranger knows (a buyer's e-mail, her checkout token) changes nothing of her CRM record", () => {
	it.each(FORMS)(
		"her e-mail posted twice on the %s with a stranger's name and phone: answered, noted on her deal, nothing of hers changed",
		async (_name, formPath) => {
			const victim = `victim-${formPath.replace(/\W/g, '-')}@example.com`;
			expect((await send(formPath, { body: form(buyer(victim)), headers: FORM })).status).toBe(303);
			validEmails.push(victim);
			const before = await waitFor(
				`${victim}'s deal in Pipedrive`,
				async () => {
					const record = crmRecordOf(victim);
					return record?.deals.length ? record : undefined;
				},
				{ timeoutMs: 120_000 },
			);
			for (const phone of ['(21) 99999-0001', '(21) 99999-0002']) {
				const stranger = { ...buyer(victim), nome: 'Estranho Malicioso', telefone: phone };
				expect((await send(formPath, { body: form(stranger), headers: FORM })).status).toBe(303);
			}
			// Both posts reached Pipedrive: what they said is in a note for a person to judge.
			await waitFor(
				"the stranger's posts noted on her deal",
				async () =>
					notesOfDeal(before.deals[0].id).filter((n) => n.includes('Estranho Malicioso')).length >=
					2
						? true
						: undefined,
				{ timeoutMs: 120_000 },
			);
			expect(crmRecordOf(victim)).toEqual(before);
			await stillServing(`stranger posting ${victim}`);
		},
	);

	it("her Elementor checkout token posted with a stranger's e-mail: answered, noted on her deal, no person for the stranger, nothing of hers changed", async () => {
		const victim = 'victim-elementor@example.com';
		const stranger = 'stranger-with-her-token@example.com';
		const token = randomUUID();
		const elementor = (email: string, name: string) =>
			form({
				'form[id]': 'a1b2c3d',
				'form[name]': 'Checkout',
				'fields[name][title]': 'Nome',
				'fields[name][value]': name,
				'fields[email][title]': 'E-mail',
				'fields[email][value]': email,
				'fields[produto][value]': 'Curso de fotografia',
				'fields[lgpd][value]': 'on',
				'fields[checkout_token][value]': token,
			});
		const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' };
		expect(
			(await send('checkout/lead/elementor', { body: elementor(victim, 'Vitória'), headers }))
				.status,
		).toBe(200);
		validEmails.push(victim);
		const before = await waitFor(
			"her Elementor lead's deal in Pipedrive",
			async () => {
				const record = crmRecordOf(victim);
				return record?.deals.length ? record : undefined;
			},
			{ timeoutMs: 120_000 },
		);
		expect(
			(await send('checkout/lead/elementor', { body: elementor(stranger, 'Estranho'), headers }))
				.status,
		).toBe(200);
		await waitFor(
			"the token's reuse noted on her deal",
			async () =>
				notesOfDeal(before.deals[0].id).some((n) => n.includes(stranger)) ? true : undefined,
			{ timeoutMs: 120_000 },
		);
		expect(crmRecordOf(victim)).toEqual(before);
		expect(crmRecordOf(stranger)).toBeUndefined();
	});
});

describe('pay links', () => {
	it('give one neutral answer to guessed, bare, forged and expired links and to an e-mail: nothing tells whether a lead exists', async () => {
		const lead = await send('checkout/lead', {
			body: form(buyer('link-owner@example.com')),
			headers: FORM,
		});
		expect(lead.status).toBe(303);
		validEmails.push('link-owner@example.com');
		const real = gateways.checkouts.get(
			decodeURIComponent(lead.location!.split('/').pop()!),
		)!.leadRef!;
		const links = {
			guessed: `lead=${signLinkToken('0194f0c2-0000-7000-8000-000000000000', Date.now() + 86_400_000, 'not-the-secret')}`,
			bare: `lead=${real}`,
			forged: `lead=${real}.${(Date.now() + 86_400_000).toString(36)}.${'0'.repeat(32)}`,
			expired: `lead=${signLinkToken(real, Date.now() - 1000, LOCAL_LINKS_SECRET)}`,
			email: 'email=link-owner%40example.com',
			token: 'token=3b1f7c2a-9d4e-4f6a-8b2c-1d3e5f7a9b0c',
		};
		const answers: Record<string, Answer> = {};
		for (const [name, query] of Object.entries(links))
			answers[name] = await attack(
				`pay link: ${name}`,
				() => send(`checkout/pay?${query}`, { method: 'GET' }),
				404,
			);
		const bodies = new Set(Object.values(answers).map((a) => a.text));
		expect(bodies.size).toBe(1);
		expect([...bodies][0]).not.toContain('link-owner');
		// The owner's own signed link works.
		expect(
			(
				await send(
					`checkout/pay?lead=${signLinkToken(real, Date.now() + 3_600_000, LOCAL_LINKS_SECRET)}`,
					{ method: 'GET' },
				)
			).status,
		).toBe(303);
	});
});

describe('payment webhooks, fast and visual intake', () => {
	const now = () => Math.floor(Date.now() / 1000);
	const paid = (id: string) =>
		JSON.stringify({
			id,
			object: 'event',
			type: 'checkout.session.completed',
			created: now(),
			data: {
				object: {
					id: `cs_${id}`,
					client_reference_id: 'lead-of-someone',
					amount_total: 1,
					currency: 'brl',
					payment_status: 'paid',
				},
			},
		});
	const PATHS = {
		fast: (p: string) => `checkout/fast/${p}`,
		visual: (p: string) => `checkout/payment-webhook/${p}`,
	};

	it.each(Object.keys(PATHS) as Array<keyof typeof PATHS>)(
		'%s intake: forged, tampered, stale and oversized Stripe events get 401; a replay is a duplicate',
		async (kind) => {
			const path = PATHS[kind]('stripe');
			const body = paid(`evt_hostile_${kind}`);
			await attack(
				'Stripe: forged',
				() => send(path, { body, headers: stripeSigned(body, 'whsec_attacker') }),
				401,
			);
			await attack(
				'Stripe: unsigned',
				() => send(path, { body, headers: { 'content-type': 'application/json' } }),
				401,
			);
			await attack(
				'Stripe: tampered',
				() =>
					send(path, {
						body: body.replace('"amount_total":1', '"amount_total":2'),
						headers: stripeSigned(body),
					}),
				401,
			);
			await attack(
				'Stripe: stale',
				() => send(path, { body, headers: stripeSigned(body, undefined, now() - 3600) }),
				401,
			);
			await attack(
				'Stripe: signed prototype key',
				() =>
					send(path, {
						body: body.replace('{', '{"__proto__":{"polluted":"yes"},'),
						headers: stripeSigned(body.replace('{', '{"__proto__":{"polluted":"yes"},')),
					}),
				401,
			);
			// Declared as JSON, n8n's own body parser refuses it before the trigger runs; sent as text, it reaches
			// the verifier, which refuses a body that is not JSON even when it is signed.
			await attack(
				'Stripe: non-JSON declared as JSON',
				() => send(path, { body: 'not json', headers: stripeSigned('not json') }),
				422,
			);
			await attack(
				'Stripe: signed non-JSON',
				() =>
					send(path, {
						body: 'not json',
						headers: { ...stripeSigned('not json'), 'content-type': 'text/plain' },
					}),
				401,
			);
			const huge = JSON.stringify({ id: 'evt_huge', pad: 'x'.repeat(10 * 1024 * 1024) });
			await attack(
				'Stripe: 10 MB',
				() => send(path, { body: huge, headers: stripeSigned(huge) }),
				(a) => a.status === 401 || a.status === 413,
			);
			// A real event (of no lead), archived once; the same bytes sent again are its duplicate and add nothing.
			const replay = JSON.stringify({
				id: `evt_replayed_${kind}`,
				object: 'event',
				type: 'customer.created',
				created: now(),
				data: { object: { id: 'cus_r' } },
			});
			expect((await send(path, { body: replay, headers: stripeSigned(replay) })).status).toBe(200);
			await attack(
				'Stripe: replayed',
				() => send(path, { body: replay, headers: stripeSigned(replay) }),
				(a) => a.status === 200 && /"duplicate":true/.test(a.text),
			);
		},
	);

	it.each(Object.keys(PATHS) as Array<keyof typeof PATHS>)(
		'%s intake: forged and tampered Mercado Pago notifications, and a body naming another payment, get 401',
		async (kind) => {
			const path = PATHS[kind]('mercadopago');
			const t = String(Date.now());
			const body = '{"type":"payment","action":"payment.updated","data":{"id":"123456"}}';
			const sig = (id: string, secret = GATEWAY_KEYS.mercadopago.webhookSecret) => ({
				'content-type': 'application/json',
				'x-signature': signMercadoPago(id, 'req-h', t, secret),
				'x-request-id': 'req-h',
			});
			await attack(
				'Mercado Pago: forged',
				() =>
					send(`${path}?data.id=123456&type=payment`, { body, headers: sig('123456', 'attacker') }),
				401,
			);
			await attack(
				'Mercado Pago: tampered id',
				() => send(`${path}?data.id=999999&type=payment`, { body, headers: sig('123456') }),
				401,
			);
			await attack(
				'Mercado Pago: body names another payment',
				() =>
					send(`${path}?data.id=123456&type=payment`, {
						body: body.replace('123456', '654321'),
						headers: sig('123456'),
					}),
				401,
			);
			await attack(
				'Mercado Pago: signature covering no id',
				() => send(path, { body, headers: sig('') }),
				401,
			);
			await attack(
				'Mercado Pago: not JSON, declared as JSON',
				() => send(`${path}?data.id=123456`, { body: '<xml/>', headers: sig('123456') }),
				422,
			);
			await attack(
				'Mercado Pago: not JSON',
				() =>
					send(`${path}?data.id=123456`, {
						body: '<xml/>',
						headers: { ...sig('123456'), 'content-type': 'application/xml' },
					}),
				401,
			);
		},
	);

	it.each(Object.keys(PATHS) as Array<keyof typeof PATHS>)(
		'%s intake: a wrong Asaas token, or a prototype key with the right one, gets 401',
		async (kind) => {
			const path = PATHS[kind]('asaas');
			const body = JSON.stringify({
				id: 'evt_h',
				event: 'PAYMENT_RECEIVED',
				payment: { id: 'pay_h', value: 0.01, externalReference: 'lead-of-someone' },
			});
			await attack(
				'Asaas: guessed token',
				() =>
					send(path, {
						body,
						headers: { 'content-type': 'application/json', 'asaas-access-token': 'guess' },
					}),
				401,
			);
			await attack(
				'Asaas: no token',
				() => send(path, { body, headers: { 'content-type': 'application/json' } }),
				401,
			);
			await attack(
				'Asaas: prototype key',
				() =>
					send(path, {
						body: body.replace('{', '{"__proto__":{"x":1},'),
						headers: {
							'content-type': 'application/json',
							'asaas-access-token': GATEWAY_KEYS.asaas.webhookToken,
						},
					}),
				401,
			);
		},
	);

	it("unknown providers and paths get n8n's 404", async () => {
		await attack(
			'unknown provider (fast)',
			() => send('checkout/fast/paypal', { body: '{}' }),
			404,
		);
		await attack(
			'unknown provider (visual)',
			() => send('checkout/payment-webhook/paypal', { body: '{}' }),
			404,
		);
		// The URL resolves to n8n's REST API, which wants a login.
		await attack(
			'a path outside the pack',
			() => send('checkout/../../rest/workflows', { body: '{}' }),
			(a) => a.status === 401 || a.status === 404,
		);
		await attack('GET on the lead form', () => send('checkout/lead', { method: 'GET' }), 404);
	});
});

it('in the end only the valid leads reached Pipedrive, nothing is dead-lettered, and nothing is left pending', async () => {
	const emailsOf = () =>
		pd.state.persons.flatMap((p) =>
			((p.emails as Array<{ value: string }>) ?? []).map((e) => e.value),
		);
	// A lead's person is written before its deal: both are waited for, or the last lead's deal can still
	// be on its way when the count is taken.
	const buyers = new Set(validEmails).size;
	await waitFor(
		'every valid lead in Pipedrive, person and deal',
		async () => (emailsOf().length >= buyers && pd.state.deals.length >= buyers ? true : undefined),
		{ timeoutMs: 180_000 },
	);
	await waitFor(
		'nothing pending',
		async () => {
			for await (const page of archive.walk('pending')) if (page.length) return undefined;
			return true;
		},
		{ timeoutMs: 60_000 },
	);
	expect(emailsOf().sort()).toEqual([...new Set(validEmails)].sort());
	expect(emailsOf()).not.toContain(ATTACKER);
	expect(pd.state.deals.length).toBe(buyers);
	expect(pd.state.deals.filter((d) => d.value !== 199.9)).toEqual([]);
	expect(await drainQueue(broker, topology.deadLetterQueue, 10, 1000)).toEqual([]);
});
