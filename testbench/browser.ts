/**
 * Debian's headless Chromium driven by playwright-core, for the browser tests and the README's
 * screenshots. The flags keep it off the network it cannot reach here (background services, QUIC).
 */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

import { waitFor } from './ports';

export async function launchChromium(): Promise<Browser> {
	return await chromium.launch({
		executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
}

/** The editor's owner account in the tests and the local pipeline (a shop makes its own in the editor). */
export const LOCAL_OWNER = {
	email: 'owner@shop.example',
	firstName: 'Shop',
	lastName: 'Owner',
	password: 'Local-owner-1-password',
};

/**
 * Signs the browser context in to the n8n editor at `baseUrl`: makes the owner account on a fresh
 * instance, or logs in to one made earlier (the local pipeline keeps its user folder). Waits first until
 * n8n's REST API has started (it answers "n8n is starting up" for a while after the webhooks do).
 */
export async function signInToEditor(context: BrowserContext, baseUrl: string): Promise<void> {
	await waitFor(
		"n8n's REST API",
		async () =>
			(await (await fetch(`${baseUrl}/rest/settings`)).text()).startsWith('{') ? true : undefined,
		{ timeoutMs: 120_000, intervalMs: 500 },
	);
	const setup = await context.request.post(`${baseUrl}/rest/owner/setup`, { data: LOCAL_OWNER });
	if (setup.ok()) return;
	const login = await context.request.post(`${baseUrl}/rest/login`, {
		data: { emailOrLdapLoginId: LOCAL_OWNER.email, password: LOCAL_OWNER.password },
	});
	if (!login.ok())
		throw new Error(
			`Cannot sign in to n8n at ${baseUrl} as ${LOCAL_OWNER.email} (owner setup: ${setup.status()}, login: ${login.status()}): its owner was made by hand`,
		);
}

/** Closes the editor's pop-overs that cover the canvas on a first visit (such as the Production Checklist). */
export async function dismissPopovers(page: Page): Promise<void> {
	const popover = page.locator('[data-reka-popper-content-wrapper]');
	for (let i = 0; i < 3 && (await popover.count()) > 0; i++) {
		await page.keyboard.press('Escape');
		await page.waitForTimeout(300);
		const close = popover.locator('button').first();
		if ((await popover.count()) > 0 && (await close.isVisible().catch(() => false)))
			await close.click({ timeout: 2000 }).catch(() => undefined);
	}
}
