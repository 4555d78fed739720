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
