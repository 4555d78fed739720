/**
 * Masks the buyer's personal data that can ride in text the pack logs or keeps with a message: a third
 * party's error body that echoes a request (Pipedrive, a gateway), or an error naming a value. E-mail
 * addresses, phone numbers (E.164 or Brazilian notation) and CPF/CNPJ (formatted, or the bare 11 and 14
 * digits the pack stores) become placeholders. Digits after a "/" stay: they are ids in a path
 * (/v1/payments/12345678901), which an operator needs to find the failing call.
 */
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const E164 = /\+\d{10,15}\b/g;
const BR_PHONE = /\(\d{2}\)\s?9?\d{4}-?\d{4}\b/g;
const CPF_CNPJ_FORMATTED = /\b\d{3}\.\d{3}\.\d{3}-\d{2}\b|\b\d{2}\.\d{3}\.\d{3}\/\d{4}-\d{2}\b/g;
const BARE_DOCUMENT = /(?<![\d/])(?:\d{14}|\d{11})(?!\d)/g;
/** A Brazilian number in E.164 digits without the "+" (55, area code, 8 or 9 digits). */
const BARE_BR_PHONE = /(?<![\d/])55\d{10,11}(?!\d)/g;

export function redactPersonalData(text: string): string {
	return text
		.replace(EMAIL, '<e-mail>')
		.replace(CPF_CNPJ_FORMATTED, '<document>')
		.replace(E164, '<phone>')
		.replace(BR_PHONE, '<phone>')
		.replace(BARE_BR_PHONE, '<phone>')
		.replace(BARE_DOCUMENT, '<number>');
}

/** A quoted value inside a sentence: "…", '…', “…”, «…» (a vendor echoing what it was sent). */
const QUOTED =
	/"[^"\n]{1,300}"|'[^'\n]{1,300}'|\u201C[^\u201D\n]{1,300}\u201D|\u00AB[^\u00BB\n]{1,300}\u00BB/g;

/**
 * A third party's error text (Pipedrive, a gateway) as the pack may log it or keep it with a dead letter.
 * Beside the patterns above, a vendor echoes names and addresses, which no pattern recognises; it quotes
 * what it echoes ("Invalid value 'Maria Souza' for name"), so every quoted value becomes "…". A JSON body
 * is first reduced to its error fields (error, error_info, message, description, code), whose keys would
 * otherwise be quoted away too.
 */
export function redactVendorText(text: string, maxChars = 300): string {
	let plain = text;
	try {
		const parsed = JSON.parse(text) as unknown;
		if (parsed && typeof parsed === 'object') plain = errorFieldsOf(parsed).join('; ');
	} catch {
		// not JSON: the text as it is
	}
	return redactPersonalData(plain.replace(QUOTED, '"…"')).slice(0, maxChars);
}

const ERROR_KEYS = new Set(['error', 'error_info', 'message', 'description', 'code', 'status']);

/** The error-describing strings of a vendor's JSON error body (nested causes included, a few levels). */
function errorFieldsOf(value: unknown, depth = 0): string[] {
	if (depth > 3 || !value || typeof value !== 'object') return [];
	const out: string[] = [];
	for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
		if (ERROR_KEYS.has(key) && (typeof v === 'string' || typeof v === 'number'))
			out.push(`${key}: ${String(v)}`);
		else if (typeof v === 'object') out.push(...errorFieldsOf(v, depth + 1));
	}
	return out;
}
