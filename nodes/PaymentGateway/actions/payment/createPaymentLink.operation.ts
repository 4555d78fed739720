import {
	updateDisplayOptions,
	NodeOperationError,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
} from 'n8n-workflow';

import { parseBuyerAddress, type BuyerAddress } from '../../../../lib/gateways/address';
import { toMinorUnits } from '../../../../lib/gateways/money';
import type { LineItem, PaymentLinkRequest } from '../../../../lib/gateways/types';
import { perItem } from '../../../shared/operation';
import {
	notificationUrlFor,
	openPaymentPage,
	stripeLinkModeProperties,
} from '../../../shared/paymentLink';
import { gatewayCredentials } from '../../../shared/transport/gateway';
import { chosenGateway } from './provider';

const properties: INodeProperties[] = [
	...stripeLinkModeProperties,
	{
		displayName: 'Lead Reference',
		name: 'leadRef',
		type: 'string',
		default: '={{ $json.leadId }}',
		required: true,
		description: 'Our lead ID, given to the gateway as its reference',
	},
	{ displayName: 'Buyer Name', name: 'buyerName', type: 'string', default: '={{ $json.name }}' },
	{
		displayName: 'Buyer Email',
		name: 'buyerEmail',
		type: 'string',
		placeholder: 'name@email.com',
		default: '={{ $json.email }}',
		required: true,
	},
	{
		displayName: 'Buyer Phone (E.164)',
		name: 'buyerPhone',
		type: 'string',
		default: '={{ $json.phone }}',
	},
	{
		displayName: 'Buyer CPF/CNPJ',
		name: 'buyerDocument',
		type: 'string',
		default: '={{ $json.document }}',
		description: 'Digits only or formatted',
	},
	{
		displayName: 'Buyer Address',
		name: 'buyerAddress',
		type: 'json',
		default: '={{ $json.address }}',
		description:
			'An object with postalCode, street, number, complement, district, city and state (the Checkout Form outputs it as address); empty for none. Mercado Pago and Asaas prefill it; Stripe Checkout asks the buyer itself.',
	},
	{
		displayName: 'Product',
		name: 'product',
		type: 'string',
		default: '={{ $json.product }}',
		required: true,
	},
	{
		displayName: 'Amount',
		name: 'amount',
		type: 'string',
		default: '={{ $json.amount }}',
		required: true,
		description: 'Unit price: 199,90 or 199.90 (exact, counted in cents)',
	},
	{
		displayName: 'Quantity',
		name: 'quantity',
		type: 'number',
		default: 1,
		typeOptions: { minValue: 1 },
	},
	{ displayName: 'Currency', name: 'currency', type: 'string', default: 'BRL' },
	{ displayName: 'Success URL', name: 'successUrl', type: 'string', default: '', required: true },
	{ displayName: 'Cancel URL', name: 'cancelUrl', type: 'string', default: '', required: true },
	{
		displayName: 'Expires In (Minutes)',
		name: 'expiresInMinutes',
		type: 'number',
		default: 60,
		typeOptions: { minValue: 30 },
		description: 'Stripe accepts 30 minutes to 24 hours',
	},
	{
		displayName: 'Notification URL',
		name: 'notificationUrl',
		type: 'string',
		default: '',
		displayOptions: { show: { provider: ['mercadopago'] } },
		description:
			"Where Mercado Pago sends this payment's webhooks. Empty: this instance's fast intake at n8n's public webhook address (N8N_WEBHOOK_URL + webhook/checkout/fast/mercadopago). A loopback address is refused unless the gateway's Base URL is on this machine too (a local stand-in).",
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['createPaymentLink'] } },
	properties,
);

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const { provider, gateway } = chosenGateway(this);
	const credentials = await gatewayCredentials(this, provider);
	return [
		await perItem(this, async (i) => {
			const str = (name: string) => String(this.getNodeParameter(name, i, '') ?? '').trim();
			let unitAmount: number;
			try {
				unitAmount = toMinorUnits(str('amount'));
			} catch {
				throw new NodeOperationError(this.getNode(), `Amount "${str('amount')}" is not a price`, {
					itemIndex: i,
				});
			}
			const item: LineItem = {
				name: str('product'),
				quantity: this.getNodeParameter('quantity', i) as number,
				unitAmount,
			};
			let address: BuyerAddress | undefined;
			try {
				address = parseBuyerAddress(this.getNodeParameter('buyerAddress', i, undefined));
			} catch (error) {
				throw new NodeOperationError(this.getNode(), (error as Error).message, { itemIndex: i });
			}
			const request: PaymentLinkRequest = {
				leadRef: str('leadRef'),
				buyer: {
					name: str('buyerName'),
					email: str('buyerEmail'),
					phone: str('buyerPhone') || undefined,
					document: str('buyerDocument').replace(/\D/g, '') || undefined,
					...(address ? { address } : {}),
				},
				items: [item],
				currency: (str('currency') || 'BRL').toUpperCase(),
				successUrl: str('successUrl'),
				cancelUrl: str('cancelUrl'),
				expiresAt: new Date(
					Date.now() + (this.getNodeParameter('expiresInMinutes', i) as number) * 60_000,
				),
			};
			if (provider === 'mercadopago')
				request.notificationUrl = notificationUrlFor(this, str('notificationUrl'), credentials, i);
			if (!request.leadRef)
				throw new NodeOperationError(this.getNode(), 'Lead Reference is empty', { itemIndex: i });
			// The parameter is shown for Stripe only, the one gateway with prefillable static links today.
			const staticLink =
				gateway.staticPaymentLink &&
				this.getNodeParameter('stripeMode', i, 'checkoutSession') === 'staticLink'
					? str('paymentLinkUrl')
					: undefined;
			const link = await openPaymentPage(this, provider, credentials, request, staticLink, i);
			if (staticLink !== undefined) return { json: { ...link, leadRef: request.leadRef } };
			return {
				json: {
					...link,
					leadRef: request.leadRef,
					amount: unitAmount * item.quantity,
					currency: request.currency,
				},
			};
		}),
	];
}
