/** The Checkout Links credential → the settings lib/links signs and opens links with. */
import {
	NodeOperationError,
	type ICredentialDataDecryptedObject,
	type IExecuteFunctions,
} from 'n8n-workflow';

import { checkLinkSettings, type LinkSettings } from '../../lib/links/checkoutLinks';

export const CHECKOUT_LINKS_CREDENTIAL = 'checkoutLinksApi';

export function linkSettingsFrom(data: ICredentialDataDecryptedObject): LinkSettings {
	return checkLinkSettings({
		secret: String(data.secret ?? ''),
		previousSecret: String(data.previousSecret ?? ''),
		reportUrl: String(data.reportUrl ?? ''),
		payUrl: String(data.payUrl ?? ''),
		validDays: Number(data.validDays ?? 7),
	});
}

/** The node's Checkout Links credential when it has one (it is optional on the Pipedrive node). */
export async function optionalLinkSettings(
	ctx: IExecuteFunctions,
): Promise<LinkSettings | undefined> {
	if (!ctx.getNode().credentials?.[CHECKOUT_LINKS_CREDENTIAL]) return undefined;
	try {
		return linkSettingsFrom(await ctx.getCredentials(CHECKOUT_LINKS_CREDENTIAL));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			description: 'Check the Checkout Links credential of this node',
		});
	}
}
