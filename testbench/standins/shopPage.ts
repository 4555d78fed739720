/** A WordPress-like checkout page with a plain HTML form posting to n8n (browser test and local pipeline). */
import { createServer, type Server } from 'node:http';

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
<div style="position:absolute;left:-9999px" aria-hidden="true"><input name="website" tabindex="-1" autocomplete="off"></div>
<label><input type="checkbox" name="lgpd" id="lgpd"> Aceito a política de privacidade</label>
<button id="comprar" type="submit">Comprar</button></form></div></body></html>`;
}

export async function startShopPage(
	action: string,
	port = 0,
): Promise<{ url: string; close: () => Promise<void> }> {
	const server: Server = createServer((_req, res) => {
		res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
		res.end(shopPageHtml(action));
	});
	await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
	const address = server.address();
	return {
		url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/checkout/`,
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
