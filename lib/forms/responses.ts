/** What the buyer's browser (or an API caller) gets back from the lead capture. No I/O. */
import { escapeHtml } from '../html/escape';
import { HTML_CSP_META } from '../html/securityHeaders';
import type { FieldError } from './fieldError';

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
	checkoutToken: 'Token do checkout',
	body: 'Formulário',
};

/** Why a file part of a form post is refused (415): a checkout form has no file field. */
export const FILE_REFUSED = 'is a file: this form takes no files';

export interface HttpAnswer {
	status: number;
	contentType: string;
	body: string;
}

/**
 * One answer for every pay link that opens nothing: unknown, expired, forged, malformed, or of a checkout
 * already paid. The same status and bytes whatever the reason, so a link (or an e-mail) cannot be probed.
 */
export function linkUnavailableAnswer(): HttpAnswer {
	return {
		status: 404,
		contentType: 'text/html; charset=utf-8',
		body: `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1"><title>Link indisponível</title></head><body><h1>Este link não está mais disponível</h1><p>Ele pode ter expirado ou o pedido já foi concluído. Para comprar, preencha o formulário da loja de novo.</p></body></html>`,
	};
}

/** Fields to fix (422), or a body refused whole (413 too large, 415 not a form): a page with a way back for browsers, JSON for API callers. */
export function rejectionAnswer(
	errors: FieldError[],
	accept: string | undefined,
	backUrl?: string,
	status = 422,
): HttpAnswer {
	if (accept && /text\/html/.test(accept)) {
		const items = errors
			.map(
				(e) =>
					`<li data-field="${escapeHtml(e.field)}"><strong>${escapeHtml(LABELS[e.field] ?? e.field)}</strong> ${escapeHtml(e.message)}</li>`,
			)
			.join('');
		const back = backUrl
			? `<a id="back" href="${escapeHtml(backUrl)}">Voltar e corrigir</a>`
			: // No script runs on the pack's pages (lib/html/securityHeaders.ts): the browser's own way back.
				'<span id="back">Use o botão Voltar do navegador para corrigir.</span>';
		return {
			status,
			contentType: 'text/html; charset=utf-8',
			body: `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1"><title>Confira seus dados</title></head><body><h1>Confira seus dados</h1><ul id="errors">${items}</ul><p>${back}</p></body></html>`,
		};
	}
	return {
		status,
		contentType: 'application/json',
		body: JSON.stringify({ error: 'invalid form', fields: errors }),
	};
}

const page = (title: string, body: string) =>
	`<!doctype html><html lang="pt-BR"><head><meta charset="utf-8">${HTML_CSP_META}<meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title></head><body>${body}</body></html>`;

/** A bot (a honeypot field filled in) is thanked like a buyer and nothing is stored: it learns nothing. */
export function thanksAnswer(): HttpAnswer {
	return {
		status: 200,
		contentType: 'text/html; charset=utf-8',
		body: page('Obrigado', '<h1>Obrigado!</h1>'),
	};
}

/** The lead could not be stored (S3 down): nothing was kept or charged, the buyer sends it again. */
export function storageDownAnswer(): HttpAnswer {
	return {
		status: 503,
		contentType: 'text/html; charset=utf-8',
		body: page(
			'Tente de novo',
			'<h1>Não conseguimos registrar agora</h1><p>Nada foi cobrado. Volte à página do formulário e envie de novo em instantes.</p>',
		),
	};
}

/** The lead is stored but the gateway did not open a payment page: the buyer retries through the pay link. */
export function gatewayDownAnswer(payLink: string): HttpAnswer {
	return {
		status: 200,
		contentType: 'text/html; charset=utf-8',
		body: page(
			'Quase lá',
			`<h1>Recebemos seus dados</h1><p>A página de pagamento não abriu agora. Seus dados estão guardados: tente de novo em instantes.</p><p><a id="retry" href="${escapeHtml(payLink)}">Tentar novamente</a></p>`,
		),
	};
}
