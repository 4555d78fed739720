/**
 * Money as integer minor units (cents), parsed from what forms and people type, never through floats:
 * "R$ 199,90", "199.90", "1.234,56", "1,234.56", 199.9 → 19990 / 123456.
 */
export function toMinorUnits(value: string | number): number {
	if (typeof value === 'number') {
		// A float already: round to cents after removing binary noise (199.9 * 100 = 19990.000000000004).
		if (!Number.isFinite(value)) throw new RangeError(`Not an amount: ${value}`);
		return Math.round(Number((value * 100).toPrecision(15)));
	}
	let text = value;
	text = text.replace(/[^\d.,-]/g, '');
	if (!/\d/.test(text)) throw new RangeError(`Not an amount: "${value}"`);
	const negative = text.startsWith('-');
	text = text.replace(/-/g, '');
	const lastSep = Math.max(text.lastIndexOf(','), text.lastIndexOf('.'));
	let whole = text;
	let fraction = '';
	// A separator followed by exactly 1 or 2 digits at the end is the decimal separator; 3 digits is grouping.
	if (lastSep >= 0 && text.length - lastSep - 1 <= 2) {
		whole = text.slice(0, lastSep);
		fraction = text.slice(lastSep + 1);
	}
	whole = whole.replace(/[.,]/g, '') || '0';
	const cents = Number(whole) * 100 + Number((fraction + '00').slice(0, 2));
	if (!Number.isSafeInteger(cents)) throw new RangeError(`Amount out of range: "${value}"`);
	return negative ? -cents : cents;
}

/** Minor units as a decimal number of major units, for APIs that count in reais (exact for cents). */
export function toMajorUnits(cents: number): number {
	return Number((cents / 100).toFixed(2));
}
