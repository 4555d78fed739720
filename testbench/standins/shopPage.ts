/** A WordPress-like checkout page with a plain HTML form posting to n8n (browser test and local pipeline). */
import { createServer, type Server } from 'node:http';

import { escapeHtml } from '../../lib/html/escape';

export function shopPageHtml(action: string): string {
	return `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Loja — Checkout</title>
<style>body{font-family:sans-serif;max-width:30rem;margin:2rem auto}label{display:block;margin:.5rem 0}input{display:block;width:100%}</style></head>
<body><div class="wp-block-html"><h2>Curso de fotografia — R$ 199,90</h2>
<form method="post" action="${action}">
<label>Nome <input name="nome" id="nome" required></label>
<label>E-mail <input name="email" id="email" type="email" required></label>
<label>Telefone <input name="telefone" id="telefone"></label>
<label>CPF <input name="cpf" id="cpf"></label>
<input type="hidden" name="produto" value="curso-de-fotografia">
<input type="hidden" name="utm_source" id="utm_source"><input type="hidden" name="utm_medium" id="utm_medium"><input type="hidden" name="utm_campaign" id="utm_campaign">
<div style="position:absolute;left:-9999px" aria-hidden="true"><input name="website" tabindex="-1" autocomplete="off"></div>
<label><input type="checkbox" name="lgpd" id="lgpd"> Aceito a política de privacidade</label>
<button id="comprar" type="submit">Comprar</button></form></div>
<script>/* As a WordPress page carries a campaign's UTM parameters into the form: from the page's address. */
for (const [k, v] of new URLSearchParams(location.search)) { const f = document.getElementById(k); if (f && k.startsWith('utm_')) f.value = v; }</script>
</body></html>`;
}

/** The shop's thank-you page, where the gateway sends the buyer after paying. */
export function thankYouHtml(): string {
	return `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Loja — Obrigado</title></head>
<body><h1 id="thanks">Obrigado pela compra!</h1><p>Seu pagamento foi recebido. Você recebe a confirmação por e-mail.</p></body></html>`;
}

/**
 * The page the gateway sends the buyer to when the payment was not finished, with the buyer's own pay
 * link to try again. Only a link to this shop's n8n pay URL is offered: the page never links elsewhere.
 */
export function notFinishedHtml(retry: string | null, payUrl: string | undefined): string {
	const usable = retry && payUrl && retry.startsWith(`${payUrl}?`) ? retry : undefined;
	return `<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>Loja — Pagamento não concluído</title></head>
<body><h1 id="not-finished">Pagamento não concluído</h1><p>Nada foi cobrado. Seus dados estão guardados: você pode tentar de novo.</p>
${usable ? `<p><a id="retry" href="${escapeHtml(usable)}">Tentar pagar de novo</a></p>` : '<p><a href="/checkout/">Voltar ao checkout</a></p>'}</body></html>`;
}

/**
 * The local shop: its checkout form (posting to n8n), and the thank-you and "not finished" pages the
 * gateways return to (testbench/demo.ts points the workflows' return URLs here).
 */
export async function startShopPage(
	action: string,
	port = 0,
	payUrl?: string,
): Promise<{ url: string; origin: string; close: () => Promise<void> }> {
	const server: Server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://shop.local');
		const html =
			url.pathname === '/obrigado'
				? thankYouHtml()
				: url.pathname === '/pagamento-nao-concluido'
					? notFinishedHtml(url.searchParams.get('retry'), payUrl)
					: shopPageHtml(action);
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(html);
	});
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
	const address = server.address();
	const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
	return {
		url: `${origin}/checkout/`,
		origin,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
