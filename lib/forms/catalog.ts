/**
 * The shop's product catalog: the only source of a checkout's price. A form (or anyone posting to the
 * public lead URL) says at most *which* product; the amount and currency come from the catalog row the
 * shop owner wrote in the Checkout Form node. A row marked open-price (donations, pay what you want)
 * takes the amount from the form, within its minimum. Pure, no n8n.
 */
import { toMinorUnits } from '../gateways/money';
import type { FieldError } from './fieldError';

export interface CatalogRow {
	/** What a form's product field may carry (compared without case, accents or punctuation), e.g. `curso-foto`. */
	key: string;
	/** What the buyer and the salesperson see: the payment page's item and the deal's product. */
	name: string;
	/** Minor units; for an open-price row, the suggested amount (unused) or 0. */
	amount: number;
	currency: string;
	openPrice: boolean;
	/** Open-price rows: the least the form may ask for (minor units), at least 1. */
	minimumAmount: number;
	/** A row applies to the forms with one of these Elementor form ids, form names, or page paths. */
	formIds: string[];
	formNames: string[];
	pagePaths: string[];
}

/** What the shop owner types in the node, before checking. */
export interface CatalogRowInput {
	key?: string;
	name?: string;
	price?: string | number;
	currency?: string;
	openPrice?: boolean;
	minimumPrice?: string | number;
	formIds?: string;
	formNames?: string;
	pagePaths?: string;
}

/** A catalog the shop owner must fix: the message names the row. */
export class CatalogError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'CatalogError';
	}
}

const norm = (text: string) =>
	text
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.toLowerCase()
		.replace(/[^a-z0-9]/g, '');

const list = (text: string | undefined) =>
	String(text ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);

/** `https://loja.example/curso/?utm=x` and `/curso` → `/curso`: the path a catalog row is matched by. */
export function pagePathOf(urlOrPath: string | undefined): string | undefined {
	if (!urlOrPath) return undefined;
	let path = urlOrPath.trim();
	try {
		path = new URL(path, 'http://shop.invalid').pathname;
	} catch {
		return undefined;
	}
	path = decodeURIComponent(path).toLowerCase().replace(/\/+$/, '');
	return path === '' ? '/' : path;
}

function amountOf(text: string | number | undefined, row: string, what: string): number {
	if (text === undefined || text === '') return 0;
	try {
		return toMinorUnits(text);
	} catch {
		throw new CatalogError(
			`Product "${row}": ${what} "${String(text)}" is not an amount (e.g. 199,90)`,
		);
	}
}

export function parseCatalog(rows: CatalogRowInput[], defaultCurrency: string): CatalogRow[] {
	const seen = new Set<string>();
	return rows.map((input, index) => {
		const key = String(input.key ?? '').trim();
		const name = String(input.name ?? '').trim() || key;
		const label = key || name || `row ${index + 1}`;
		if (!key && !name) throw new CatalogError(`Product row ${index + 1} needs a key or a name`);
		if (seen.has(norm(key || name)))
			throw new CatalogError(`Product "${label}" is in the catalog twice`);
		seen.add(norm(key || name));
		const currency = (String(input.currency ?? '').trim() || defaultCurrency).toUpperCase();
		if (!/^[A-Z]{3}$/.test(currency))
			throw new CatalogError(
				`Product "${label}": currency "${currency}" is not an ISO 4217 code such as BRL`,
			);
		const openPrice = input.openPrice === true;
		const amount = amountOf(input.price, label, 'price');
		if (!openPrice && amount <= 0)
			throw new CatalogError(`Product "${label}" needs a price above zero (or mark it Open Price)`);
		const minimumAmount = Math.max(1, amountOf(input.minimumPrice, label, 'minimum price'));
		return {
			key: key || name,
			name,
			amount: openPrice ? 0 : amount,
			currency,
			openPrice,
			minimumAmount,
			formIds: list(input.formIds),
			formNames: list(input.formNames).map(norm),
			pagePaths: list(input.pagePaths)
				.map(pagePathOf)
				.filter((p): p is string => !!p),
		};
	});
}

export interface ProductChoice {
	/** The product field's text, if the form has one. */
	product?: string;
	/** The form's price field, used only for an open-price row. */
	price?: string;
	formId?: string;
	formName?: string;
	/** The page the form was on (referrer or Elementor's page URL). */
	pageUrl?: string;
}

export type PricedProduct =
	{ ok: true; row: CatalogRow; amount: number } | { ok: false; errors: FieldError[] };

/**
 * Which catalog row a post is for, and its amount. A product field must name a row (by key or name);
 * without one, the row whose form id, form name or page path matches; failing that, the one row that
 * names no form at all (a one-product shop).
 */
export function priceFromCatalog(catalog: CatalogRow[], choice: ProductChoice): PricedProduct {
	let row: CatalogRow | undefined;
	if (choice.product && choice.product.trim()) {
		const wanted = norm(choice.product);
		row =
			catalog.find((r) => norm(r.key) === wanted) ?? catalog.find((r) => norm(r.name) === wanted);
		if (!row)
			return {
				ok: false,
				errors: [{ field: 'product', message: 'is not a product of this shop' }],
			};
	} else {
		const path = pagePathOf(choice.pageUrl);
		const formName = choice.formName ? norm(choice.formName) : undefined;
		row =
			(choice.formId ? catalog.find((r) => r.formIds.includes(choice.formId!)) : undefined) ??
			(formName ? catalog.find((r) => r.formNames.includes(formName)) : undefined) ??
			(path ? catalog.find((r) => r.pagePaths.includes(path)) : undefined);
		if (!row) {
			const catchAll = catalog.filter(
				(r) => !r.formIds.length && !r.formNames.length && !r.pagePaths.length,
			);
			if (catchAll.length === 1) row = catchAll[0];
		}
		if (!row) return { ok: false, errors: [{ field: 'product', message: 'is required' }] };
	}
	if (!row.openPrice) return { ok: true, row, amount: row.amount };
	if (!choice.price || !choice.price.trim())
		return { ok: false, errors: [{ field: 'price', message: 'is required' }] };
	let amount: number;
	try {
		amount = toMinorUnits(choice.price);
	} catch {
		return { ok: false, errors: [{ field: 'price', message: 'is not an amount' }] };
	}
	if (amount < row.minimumAmount)
		return {
			ok: false,
			errors: [
				{
					field: 'price',
					message: `must be at least ${(row.minimumAmount / 100).toFixed(2)} ${row.currency}`,
				},
			],
		};
	return { ok: true, row, amount };
}
