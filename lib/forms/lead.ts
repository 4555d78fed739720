/**
 * Checkout form posts → a validated lead, or the list of fields that are wrong. Accepts what real forms
 * send: a plain HTML form (urlencoded or multipart, already parsed into an object by the webhook), an
 * Elementor Pro "Webhook" action in simple mode (one key per field *label*) or advanced mode
 * (`fields[<id>][value]`, `form[id]`, `meta[…]`), JSON, and GET query parameters. No I/O, no n8n.
 */
import { domainToASCII } from 'node:url';

import {
	FORM_LIMITS,
	UntrustedInputError,
	bareObject,
	safeTree,
	type SafeTree,
} from '../http/untrusted';
import { isCheckoutToken } from '../links/checkoutLinks';
import { priceFromCatalog, type CatalogRow } from './catalog';
import { parseDocument, type DocumentKind } from './documents';
import type { FieldError } from './fieldError';
import { toE164 } from './phone';

export type AddressField =
	'postalCode' | 'street' | 'number' | 'complement' | 'district' | 'city' | 'state';
export type LeadField =
	| 'email'
	| 'name'
	| 'phone'
	| 'document'
	| 'product'
	| 'price'
	| 'consent'
	| 'honeypot'
	| 'checkoutToken'
	| AddressField;

export const ADDRESS_FIELDS: AddressField[] = [
	'postalCode',
	'street',
	'number',
	'complement',
	'district',
	'city',
	'state',
];

/** Which form keys (labels or ids, compared without case, accents or punctuation) feed each lead field. */
export type FieldMapping = Record<LeadField, string[]>;

export const DEFAULT_MAPPING: FieldMapping = {
	email: ['email', 'e-mail', 'mail', 'your-email'],
	name: ['name', 'nome', 'nome completo', 'full name', 'your-name'],
	phone: ['phone', 'telefone', 'celular', 'whatsapp', 'tel'],
	document: ['cpf', 'cnpj', 'cpf/cnpj', 'cpf ou cnpj', 'document', 'documento'],
	product: ['product', 'produto', 'plano', 'curso'],
	price: ['price', 'preco', 'preço', 'valor', 'amount'],
	consent: ['consent', 'lgpd', 'aceite', 'aceito', 'privacy', 'privacidade'],
	honeypot: ['website', 'hp', 'url_hp'],
	checkoutToken: ['checkout_token', 'checkout token'],
	postalCode: ['cep', 'postal code', 'postcode', 'zip', 'zip code', 'codigo postal'],
	street: ['endereco', 'rua', 'logradouro', 'street', 'address'],
	number: ['numero', 'number', 'num'],
	complement: ['complemento', 'complement'],
	district: ['bairro', 'district', 'neighborhood', 'neighbourhood'],
	city: ['cidade', 'city', 'municipio'],
	state: ['estado', 'uf', 'state'],
};

export interface LeadOptions {
	mapping?: Partial<FieldMapping>;
	requireConsent?: boolean;
	requirePhone?: boolean;
	requireDocument?: boolean;
	/** Postal code, street and number must be there (boleto and invoice gateways ask for them). */
	requireAddress?: boolean;
	/**
	 * The random token a script on the shop's page put in a hidden field (the Elementor path: its Redirect
	 * carries it, see lib/links); required, and checked to be random-looking, when true.
	 */
	requireCheckoutToken?: boolean;
	/** The shop's products: the only source of the amount (see catalog.ts). */
	catalog: CatalogRow[];
	/** Decides Brazilian checks (CEP) when the catalog row does not; BRL by default. */
	currency?: string;
	/** The request's Content-Type: a body must be a form or JSON. */
	contentType?: string;
	/** The Referer header, when the form has no referrer field. */
	referer?: string;
	now?: number;
}

export interface Lead {
	name: string;
	email: string;
	phone?: string;
	document?: string;
	documentKind?: DocumentKind;
	/** What the form had of it; a Brazilian CEP (BRL shops) as its 8 digits and the UF in capitals. */
	address?: Partial<Record<AddressField, string>>;
	/** The catalog row's name and key. */
	product: string;
	productKey: string;
	/** Minor units, from the catalog (or the form, for an open-price row). */
	amount: number;
	currency: string;
	consent: { given: boolean; at?: string };
	utm: Record<string, string>;
	referrer?: string;
	form: { id?: string; name?: string; kind: FormKind };
}

export type FormKind = 'elementor-advanced' | 'elementor-simple' | 'fields';

/** `status`: 422 for fields to fix; 413 for a body too large, 415 for one that is not a form or JSON. */
export type LeadResult =
	/** `checkoutToken`: the Elementor path's random token, kept apart from the lead (it is a bearer secret: the lead id is derived from it, and it is stored nowhere). */
	| { ok: true; lead: Lead; checkoutToken?: string }
	| { ok: false; errors: FieldError[]; status: number }
	| { ok: 'bot'; field: string };

const MAX_FIELD_CHARS = 2_000;
const CAPS: Partial<Record<LeadField, number>> = {
	name: 120,
	email: 254,
	product: 200,
	phone: 40,
	document: 30,
	price: 30,
	checkoutToken: 128,
	postalCode: 20,
	street: 200,
	number: 20,
	complement: 100,
	district: 100,
	city: 100,
	state: 40,
};
const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'];
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]{2,}$/;

/**
 * Characters a person cannot see: zero-width spaces and joiners, direction marks and overrides, the soft
 * hyphen, the byte-order mark. In an e-mail they make one address look like another (and a second person
 * in Pipedrive), so an address holding one is refused.
 */
const INVISIBLE =
	/[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/;

/**
 * The e-mail as stored and matched: lower case, its domain in ASCII (punycode, as DNS and Pipedrive's
 * search know it), so that `ana@exemplo.com.br` typed with a Unicode look-alike or in punycode is one
 * address; invisible characters refused. `raw` is the field as sent: invisible characters are looked for
 * before trimming, which would remove some of them (the byte-order mark).
 */
export function normaliseEmail(
	raw: string | undefined,
): { ok: true; email: string } | { ok: false; message: string } {
	if (INVISIBLE.test(raw ?? ''))
		return { ok: false, message: 'contains invisible characters (type the address again)' };
	const lower = (raw ?? '').trim().normalize('NFC').toLowerCase();
	if (!lower) return { ok: false, message: 'is required' };
	if (!EMAIL.test(lower)) return { ok: false, message: 'is not a valid e-mail address' };
	const at = lower.lastIndexOf('@');
	const domain = lower.slice(at + 1);
	const ascii = /^[\x20-\x7e]*$/.test(domain) ? domain : domainToASCII(domain);
	if (!ascii || !EMAIL.test(`${lower.slice(0, at)}@${ascii}`))
		return { ok: false, message: 'is not a valid e-mail address' };
	return { ok: true, email: `${lower.slice(0, at)}@${ascii}` };
}

export function normaliseKey(key: string): string {
	return key
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]/g, '');
}

function asText(value: unknown): string | undefined {
	if (value === undefined || value === null) return undefined;
	if (Array.isArray(value)) return value.length ? asText(value[0]) : undefined;
	if (typeof value === 'object') return undefined;
	return String(value);
}

type Tree = { [key: string]: SafeTree };
const isTree = (v: SafeTree | undefined): v is Tree =>
	v !== null && typeof v === 'object' && !Array.isArray(v);

/** Form posts and JSON; a GET has no body. Anything else is not what this endpoint takes. */
const FORM_TYPES =
	/^(application\/x-www-form-urlencoded|multipart\/form-data|application\/json|[a-z]+\/[a-z.+-]*\+json)\s*(;|$)/i;

/**
 * The form's fields as normalised key → text, and what kind of post it was. The body and query are first
 * copied through lib/http/untrusted (prototype-free, forbidden keys refused, size and shape capped);
 * PHP-style keys that arrive flat (`fields[email][value]`) are nested there.
 */
export function readFormFields(
	body: unknown,
	query: Record<string, unknown> = {},
): {
	fields: Map<string, string>;
	/** Normalised keys sent more than once with different values (`email=a&email=b`). */
	repeated: Set<string>;
	kind: FormKind;
	formId?: string;
	formName?: string;
} {
	const fields = new Map<string, string>();
	const repeated = new Set<string>();
	const put = (key: string, value: unknown) => {
		if (Array.isArray(value) && new Set(value.map(asText)).size > 1)
			repeated.add(normaliseKey(key));
		// Of a repeated key the last value, as PHP and most servers read it: a checkbox after its hidden
		// "0" fallback is what the buyer ticked (other lead fields sent twice differently are refused).
		const text = asText(Array.isArray(value) ? value[value.length - 1] : value);
		if (text !== undefined && !fields.has(normaliseKey(key))) fields.set(normaliseKey(key), text);
	};
	if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body)))
		throw new UntrustedInputError('body', 'must be form fields or a JSON object', 422);
	const tree = safeTree(body ?? {}, FORM_LIMITS, { expandPhpKeys: true });
	const source: Tree = isTree(tree) ? tree : bareObject<SafeTree>();
	const queryTree = safeTree(query, FORM_LIMITS, { expandPhpKeys: false });
	let kind: FormKind = 'fields';
	let formId: string | undefined;
	let formName: string | undefined;
	const advanced = source.fields;
	if (isTree(advanced) && Object.values(advanced).some((f) => isTree(f) && 'value' in f)) {
		kind = 'elementor-advanced';
		for (const [id, f] of Object.entries(advanced)) {
			if (!isTree(f)) continue;
			const value = f.raw_value ?? f.value;
			put(id, value);
			if (typeof f.title === 'string') put(f.title, value);
		}
		const form = isTree(source.form) ? source.form : undefined;
		formId = asText(form?.id);
		formName = asText(form?.name);
		const meta = isTree(source.meta) ? source.meta : undefined;
		for (const [key, m] of Object.entries(meta ?? {}))
			put(`meta_${key}`, isTree(m) ? m.value : undefined);
	} else {
		if ('form_id' in source || 'form_name' in source) kind = 'elementor-simple';
		formId = asText(source.form_id);
		formName = asText(source.form_name);
		for (const [key, value] of Object.entries(source)) put(key, value);
	}
	if (isTree(queryTree)) for (const [key, value] of Object.entries(queryTree)) put(key, value);
	return { fields, repeated, kind, formId, formName };
}

/** The query of an absolute http(s) address, or undefined. */
function queryOf(address: string | undefined): URLSearchParams | undefined {
	if (!address) return undefined;
	try {
		const url = new URL(address);
		return /^https?:$/.test(url.protocol) ? url.searchParams : undefined;
	} catch {
		return undefined;
	}
}

/**
 * The consent checkbox by its label when no mapped key names it: Elementor's simple mode keys each field by
 * its label, and Portuguese forms label the checkbox with the sentence itself ("Aceito a política de
 * privacidade", "Li e concordo com os termos", "Autorizo o uso dos meus dados (LGPD)").
 */
function consentByLabel(fields: Map<string, string>): string | undefined {
	for (const [key, value] of fields)
		if (
			/^(eu)?(aceito|aceite|concordo|autorizo|lieaceito|lieconcordo)/.test(key) ||
			/(privacidade|lgpd|consentimento|consent|termosdeuso)/.test(key)
		)
			return value;
	return undefined;
}

function collapseSpaces(text: string): string {
	return text.replace(/\s+/g, ' ').trim();
}

/**
 * A tag, comment or declaration ("<b", "</", "<!", "<?"). No buyer types one into a name, e-mail, phone
 * or address; a bot or an attacker does. Refused with a 422 naming the field rather than stripped, so
 * that nothing of such a post is stored (a lone "<" followed by a space or digit is text).
 */
const MARKUP = /<[A-Za-z!/?]/;

/**
 * The form's fields as the lead's fields see them (through the mapping), and the field errors found so
 * far, in the order they were found: the 422 lists them in that order.
 */
class LeadFieldReader {
	readonly errors: FieldError[] = [];

	constructor(
		readonly fields: Map<string, string>,
		readonly mapping: FieldMapping,
	) {}

	add(field: string, message: string): void {
		this.errors.push({ field, message });
	}

	/** The answer that lists the errors found: fields the buyer must fix. */
	refusal(): LeadResult {
		return { ok: false, status: 422, errors: this.errors };
	}

	/** The first mapped key the form sent for a lead field, and its value as sent. */
	pick(field: LeadField): { key?: string; value?: string } {
		for (const candidate of this.mapping[field]) {
			const key = normaliseKey(candidate);
			if (this.fields.has(key)) return { key: candidate, value: this.fields.get(key) };
		}
		return {};
	}

	/** A lead field's text with its spaces collapsed; undefined when empty, or (an error) over its cap. */
	text(field: LeadField): string | undefined {
		const raw = this.pick(field).value;
		if (raw === undefined) return undefined;
		const clean = collapseSpaces(raw);
		const cap = CAPS[field];
		if (cap && clean.length > cap) {
			this.add(field, `is too long (at most ${cap} characters)`);
			return undefined;
		}
		return clean === '' ? undefined : clean;
	}
}

/** A 415 for a body that is neither a form nor JSON; undefined when the body may be read. */
function refuseContentType(body: unknown, contentType: string | undefined): LeadResult | undefined {
	const bodyGiven =
		body !== undefined &&
		body !== null &&
		!(typeof body === 'object' && Object.keys(body).length === 0);
	if (!bodyGiven || contentType === undefined || FORM_TYPES.test(contentType.trim()))
		return undefined;
	return {
		ok: false,
		status: 415,
		errors: [
			{
				field: 'content-type',
				message: `must be a form (application/x-www-form-urlencoded or multipart/form-data) or JSON, not "${contentType.slice(0, 80)}"`,
			},
		],
	};
}

/** The form's fields, or the answer to a body lib/http/untrusted refused (too large, a forbidden key…). */
function readFormOrRefuse(
	body: unknown,
	query: Record<string, unknown>,
): { read: ReturnType<typeof readFormFields> } | { refused: LeadResult } {
	try {
		return { read: readFormFields(body, query) };
	} catch (error) {
		if (error instanceof UntrustedInputError)
			return {
				refused: {
					ok: false,
					status: error.status,
					errors: [{ field: error.field, message: error.message.slice(error.field.length + 1) }],
				},
			};
		throw error;
	}
}

/** Oversized fields, undecodable bytes and markup, each an error of the field it is in. */
function checkHostileInput(form: LeadFieldReader): void {
	for (const [key, value] of form.fields) {
		if (value.length > MAX_FIELD_CHARS)
			form.add(key, `is too long (${value.length} characters, at most ${MAX_FIELD_CHARS})`);
		else if (value.includes('\uFFFD') || /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(value))
			form.add(key, 'contains characters that are not text');
		else if (MARKUP.test(value)) form.add(key, 'must not contain HTML markup');
	}
}

/**
 * A field of the lead sent twice with different values (`email=a&email=b`): which one the buyer meant is
 * a guess, so none is taken. The consent checkbox is exempt: forms pair it with a hidden "0" fallback.
 */
function checkRepeatedFields(form: LeadFieldReader, repeated: Set<string>): void {
	for (const field of Object.keys(form.mapping) as LeadField[]) {
		if (field === 'consent' || field === 'honeypot') continue;
		const key = form.pick(field).key;
		if (key !== undefined && repeated.has(normaliseKey(key)))
			form.add(field, 'was sent more than once with different values');
	}
}

/** Who is buying: name and e-mail (required), phone in E.164. */
function readBuyerIdentity(
	form: LeadFieldReader,
	options: LeadOptions,
): { name?: string; email?: string; phone?: string } {
	const name = form.text('name');
	if (!name) form.add('name', 'is required');
	// An address with an invisible character is judged as sent (collapsing spaces would remove some).
	const rawEmail = form.pick('email').value;
	const email = normaliseEmail(INVISIBLE.test(rawEmail ?? '') ? rawEmail : form.text('email'));
	if (!email.ok) form.add('email', email.message);

	const phoneText = form.text('phone');
	let phone: string | undefined;
	if (phoneText) {
		phone = toE164(phoneText);
		if (!phone)
			form.add(
				'phone',
				'is not a valid phone number (for Brazil: area code and number, e.g. (11) 98765-4321)',
			);
	} else if (options.requirePhone) form.add('phone', 'is required');
	return { name, email: email.ok ? email.email : undefined, phone };
}

/** The buyer's CPF or CNPJ, with its check digits checked. */
function readDocument(
	form: LeadFieldReader,
	options: LeadOptions,
): { kind: DocumentKind; digits: string } | undefined {
	const documentText = form.text('document');
	let document: { kind: DocumentKind; digits: string } | undefined;
	if (documentText) {
		document = parseDocument(documentText);
		if (!document) form.add('document', 'is not a valid CPF or CNPJ (check digits do not match)');
	} else if (options.requireDocument) form.add('document', 'is required');
	return document;
}

/** What the form had of the address; for a Brazilian shop the CEP as its 8 digits and the UF in capitals. */
function readAddress(
	form: LeadFieldReader,
	options: LeadOptions,
): Partial<Record<AddressField, string>> {
	const brazilian = (options.currency ?? 'BRL').toUpperCase() === 'BRL';
	const address: Partial<Record<AddressField, string>> = {};
	for (const field of ADDRESS_FIELDS) {
		const value = form.text(field);
		if (value !== undefined) address[field] = value;
	}
	if (address.postalCode && brazilian) {
		const digits = address.postalCode.replace(/\D/g, '');
		if (digits.length !== 8 || /[^\d\s.-]/.test(address.postalCode))
			form.add('postalCode', 'is not a valid CEP (8 digits, e.g. 01310-100)');
		else address.postalCode = digits;
	}
	if (address.state && brazilian && /^[a-z]{2}$/i.test(address.state))
		address.state = address.state.toUpperCase();
	if (options.requireAddress) {
		for (const field of ['postalCode', 'street', 'number'] as const)
			if (!address[field]) form.add(field, 'is required');
	}
	return address;
}

/**
 * The page the form was on and the page the buyer came from. Elementor sends the page as "Page URL"
 * (simple mode) or meta.page_url (advanced), and the page the buyer came from as "Referer" when the form
 * asks for it.
 */
function pageAndReferrer(
	fields: Map<string, string>,
	referer: string | undefined,
): { pageUrl?: string; referrer?: string } {
	const pageUrl = fields.get('metapageurl') ?? fields.get('pageurl');
	const referrer =
		fields.get('referrer') ??
		fields.get('referer') ??
		fields.get('metareferer') ??
		pageUrl ??
		referer;
	return { pageUrl, referrer };
}

/** The Elementor path's random token from the page script's hidden field, checked to look random. */
function readCheckoutToken(form: LeadFieldReader, options: LeadOptions): string | undefined {
	const tokenText = form.text('checkoutToken');
	if (tokenText !== undefined && !isCheckoutToken(tokenText))
		form.add(
			'checkoutToken',
			'is not a random checkout token (crypto.randomUUID() in the page script)',
		);
	else if (tokenText === undefined && options.requireCheckoutToken)
		form.add(
			'checkoutToken',
			'is required: add the hidden field and its script to the form (README: Elementor Pro form)',
		);
	return tokenText;
}

/** Whether the buyer ticked the consent checkbox (required unless `requireConsent` is false). */
function readConsent(form: LeadFieldReader, options: LeadOptions): boolean {
	const consentText = form.text('consent') ?? consentByLabel(form.fields);
	const consentGiven = !!consentText && !/^(0|false|no|nao|não|off)$/i.test(consentText);
	if (options.requireConsent !== false && !consentGiven)
		form.add('consent', 'must be accepted (LGPD)');
	return consentGiven;
}

function utmOf(fields: Map<string, string>, pageUrl: string | undefined): Record<string, string> {
	const utm: Record<string, string> = {};
	const pageQuery = queryOf(pageUrl);
	for (const key of UTM_KEYS) {
		// A UTM field of the form first, else the page address's own (Elementor's "Page URL").
		const value = fields.get(normaliseKey(key)) ?? pageQuery?.get(key) ?? undefined;
		if (value) utm[key] = collapseSpaces(value).slice(0, 200);
	}
	return utm;
}

export function validateLead(
	body: unknown,
	query: Record<string, unknown>,
	options: LeadOptions,
): LeadResult {
	const wrongType = refuseContentType(body, options.contentType);
	if (wrongType) return wrongType;
	const reading = readFormOrRefuse(body, query);
	if ('refused' in reading) return reading.refused;
	const { fields, repeated, kind, formId, formName } = reading.read;
	const form = new LeadFieldReader(fields, { ...DEFAULT_MAPPING, ...options.mapping });

	const honeypot = form.pick('honeypot');
	if (honeypot.value && honeypot.value.trim() !== '') return { ok: 'bot', field: honeypot.key! };
	// Hostile input first: oversized fields and undecodable bytes are refused whatever field they are in.
	checkHostileInput(form);
	if (form.errors.length) return form.refusal();
	checkRepeatedFields(form, repeated);
	if (form.errors.length) return form.refusal();

	// The 422 lists the errors in the order these read the fields (identity, document, address, product,
	// token, consent): keep the order.
	const buyer = readBuyerIdentity(form, options);
	const document = readDocument(form, options);
	const address = readAddress(form, options);
	const { pageUrl, referrer } = pageAndReferrer(fields, options.referer);
	// The price is the shop's: the form says at most which product (and the amount of an open-price row).
	const priced = priceFromCatalog(options.catalog, {
		product: form.text('product'),
		price: form.text('price'),
		formId,
		formName,
		pageUrl: pageUrl ?? referrer,
	});
	if (!priced.ok) form.errors.push(...priced.errors);
	const tokenText = readCheckoutToken(form, options);
	const consentGiven = readConsent(form, options);
	if (form.errors.length || !priced.ok) return form.refusal();

	const at = new Date(options.now ?? Date.now()).toISOString();
	return {
		ok: true,
		lead: {
			name: buyer.name!,
			email: buyer.email!,
			phone: buyer.phone,
			document: document?.digits,
			documentKind: document?.kind,
			...(Object.keys(address).length ? { address } : {}),
			product: priced.row.name,
			productKey: priced.row.key,
			amount: priced.amount,
			currency: priced.row.currency,
			consent: consentGiven ? { given: true, at } : { given: false },
			utm: utmOf(fields, pageUrl),
			referrer: referrer ? referrer.slice(0, 500) : undefined,
			form: { id: formId, name: formName, kind },
		},
		...(tokenText ? { checkoutToken: tokenText } : {}),
	};
}
