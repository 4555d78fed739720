import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The shop's secret for the links that bring a buyer back to their prefilled payment page (retry links,
 * follow-up activities) and for the shop owner's report links. Nothing to call, so nothing to test: the secret signs links (HMAC-SHA256) and
 * the nodes that open them check the signature and the expiry.
 */
export class CheckoutLinksApi implements ICredentialType {
	name = 'checkoutLinksApi';

	displayName = 'Checkout Links API';

	icon: Icon = { light: 'file:icons/link.svg', dark: 'file:icons/link.dark.svg' };

	documentationUrl =
		'https://github.com/n8n-nodes-checkout-recovery/n8n-nodes-checkout-recovery/blob/main/docs/lead-capture.md#the-checkout-links-api-credential';

	properties: INodeProperties[] = [
		{
			displayName: 'Signing Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				'At least 32 characters, e.g. the output of `openssl rand -base64 32`. To rotate it, move the current one to Previous Signing Secret: the links it signed keep working until they expire.',
		},
		{
			displayName: 'Previous Signing Secret',
			name: 'previousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'The secret before the last rotation: it still opens the pay and report links it signed (until they expire) and signs no new one. Empty when not rotating.',
		},
		{
			displayName: 'Pay URL',
			name: 'payUrl',
			type: 'string',
			default: '',
			required: true,
			placeholder: 'https://n8n.example.com/webhook/checkout/pay',
			description:
				"The public address of the lead capture workflow's pay endpoint (GET), which links point to",
		},
		{
			displayName: 'Links Valid For (Days)',
			name: 'validDays',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 7,
			description:
				'How long a link opens the payment page; long enough for the follow-up rules. A paid checkout closes its links at once.',
		},
		{
			displayName: 'Report URL',
			name: 'reportUrl',
			type: 'string',
			default: '',
			placeholder: 'https://n8n.example.com/webhook/checkout/report',
			description:
				"The public address of the report page (GET), which the report links point to. Empty: 'report' beside the Pay URL.",
		},
	];
}
