/** The Checkout Links credential → the settings lib/links signs and opens links with. */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { checkLinkSettings, type LinkSettings } from '../../lib/links/checkoutLinks';

export const CHECKOUT_LINKS_CREDENTIAL = 'checkoutLinksApi';

export function linkSettingsFrom(data: ICredentialDataDecryptedObject): LinkSettings {
	return checkLinkSettings({
		secret: String(data.secret ?? ''),
		payUrl: String(data.payUrl ?? ''),
		validDays: Number(data.validDays ?? 7),
	});
}
