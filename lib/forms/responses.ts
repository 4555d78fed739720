/** What the buyer's browser (or an API caller) gets back from the lead capture. No I/O. */
import type { FieldError } from './lead';

const LABELS: Record<string, string> = {
	name: 'Nome',
	email: 'E-mail',
	phone: 'Telefone',
	document: 'CPF/CNPJ',
	product: 'Produto',
	price: 'Valor',
	consent: 'Consentimento (LGPD)',
	postalCode: 'CEP',
	street: 'Endereço',
	number: 'Número',
	complement: 'Complemento',
	district: 'Bairro',
	city: 'Cidade',
	state: 'Estado',
};

export function escapeHtml(text: string): string {
	return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface HttpAnswer {
	status: number;
	contentType: string;
	body: string;
}

/** 422 naming each bad field: a page with a way back for browsers, JSON for API callers. */
export function rejectionAnswer(errors: FieldError[], accept: string | undefined, backUrl?: string): HttpAnswer {
	if (accept && /text\/html/.test(accept)) {
		const items = errors.map((e) => `<li data-field="${escapeHtml(e.field)}"><strong>${escapeHtml(LABELS[e.field] ?? e.field)}</strong> ${escapeHtml(e.message)}</li>`).join('');
		const back = backUrl ? `<a id="back" href="${escapeHtml(backUrl)}">Voltar e corrigir</a>` : '<a id="back" href="javascript:history.back()">Voltar e corrigir</a>';
		return {
			status: 422,
			contentType: 'text/html; charset=utf-8',
			body: `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Confira seus dados</title></head><body><h1>Confira seus dados</h1><ul id="errors">${items}</ul><p>${back}</p></body></html>`,
		};
	}
	return { status: 422, contentType: 'application/json', body: JSON.stringify({ error: 'invalid form', fields: errors }) };
}
