/**
 * The buyer address as the Payment Gateway node takes it: an object (what the Checkout Form outputs as
 * `address`), its JSON text, or nothing. Only the known keys, each as text; anything else is a clear
 * error rather than a field silently dropped on the way to the gateway.
 */
import type { Buyer } from './types';

export type BuyerAddress = NonNullable<Buyer['address']>;

const KEYS = ['street', 'number', 'complement', 'district', 'city', 'state', 'postalCode'] as const;

export function parseBuyerAddress(value: unknown): BuyerAddress | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	let object = value;
	if (typeof value === 'string') {
		try {
			object = JSON.parse(value);
		} catch {
			throw new Error(
				'Buyer Address must be an object such as {"postalCode": "01310-100", "street": "Av. Paulista", "number": "1000"}',
			);
		}
	}
	if (typeof object !== 'object' || object === null || Array.isArray(object))
		throw new Error('Buyer Address must be an object (or empty)');
	const unknown = Object.keys(object).filter((k) => !(KEYS as readonly string[]).includes(k));
	if (unknown.length)
		throw new Error(
			`Buyer Address has unknown field(s) ${unknown.join(', ')}; known: ${KEYS.join(', ')}`,
		);
	const address: BuyerAddress = {};
	for (const key of KEYS) {
		const v = (object as Record<string, unknown>)[key];
		if (v === undefined || v === null || v === '') continue;
		if (typeof v !== 'string' && typeof v !== 'number')
			throw new Error(`Buyer Address ${key} must be text`);
		address[key] = String(v).trim();
	}
	return Object.keys(address).length ? address : undefined;
}
