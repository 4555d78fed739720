/**
 * A buyer in a real browser (Debian's headless Chromium): a WordPress-like page with a plain HTML
 * checkout form posts to the exported lead capture workflow in n8n, and the browser lands on the gateway
 * stand-in's checkout page with what was typed already filled in. A bad CPF shows the field error.
 * Screenshots are kept in .artifacts/screenshots.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';

import { launchChromium } from '../../testbench/browser';
import { REPO_ROOT } from '../../testbench/n8n';
import { startShopPage } from '../../testbench/standins/shopPage';
import { startLeadCaptureBench, type LeadCaptureBench } from '../../testbench/leadCaptureBench';

jest.setTimeout(300_000);

const SHOTS = join(REPO_ROOT, '.artifacts/screenshots');
let bench: LeadCaptureBench;
let browser: Browser;
let site: { url: string; close: () => Promise<void> };
let siteUrl: string;

beforeAll(async () => {
	mkdirSync(SHOTS, { recursive: true });
	bench = await startLeadCaptureBench();
	site = await startShopPage(bench.n8n.webhookUrl('checkout/lead'));
	siteUrl = site.url;
	browser = await launchChromium();
});
afterAll(async () => {
	await browser?.close();
	await site?.close();
	await bench?.stop();
});

async function fillAndSubmit(cpf: string) {
	const page = await browser.newPage({ locale: 'pt-BR' });
	await page.goto(siteUrl);
	await page.fill('#nome', 'José da Conceição Ñandú');
	await page.fill('#email', 'jose.browser@example.com');
	await page.fill('#telefone', '11 98765 4321');
	await page.fill('#cpf', cpf);
	await page.check('#lgpd');
	await Promise.all([page.waitForLoadState('load'), page.click('#comprar')]);
	return page;
}

it('lands the buyer on the payment page with the typed data prefilled', async () => {
	const page = await fillAndSubmit('529.982.247-25');
	await page.waitForURL(new RegExp(`${bench.gateways.baseUrl}/pay/mercadopago/`));
	expect(await page.inputValue('#name')).toBe('José da Conceição Ñandú');
	expect(await page.inputValue('#email')).toBe('jose.browser@example.com');
	expect(await page.inputValue('#phone')).toBe('+5511987654321');
	expect(await page.inputValue('#document')).toBe('52998224725');
	expect(await page.textContent('#total')).toBe('BRL 199.90');
	await page.screenshot({ path: join(SHOTS, 'checkout-prefilled.png'), fullPage: true });
	await page.close();
});

it('shows the field error for a bad CPF, with a way back', async () => {
	const page = await fillAndSubmit('529.982.247-26');
	await page.waitForSelector('#errors');
	expect(await page.textContent('li[data-field="document"]')).toContain('CPF/CNPJ');
	expect(await page.isVisible('#back')).toBe(true);
	await page.screenshot({ path: join(SHOTS, 'checkout-bad-cpf.png'), fullPage: true });
	await page.close();
});
