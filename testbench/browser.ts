/**
 * Debian's headless Chromium driven by playwright-core, for the browser tests and the README's
 * screenshots. The flags keep it off the network it cannot reach here (background services, QUIC).
 */
import { chromium, type Browser } from 'playwright-core';

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
