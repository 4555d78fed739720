/** Brazilian CPF (11 digits) and CNPJ (14 digits) with their mod-11 check digits. */
export function digitsOnly(value: string): string {
	return value.replace(/\D/g, '');
}

function checkDigit(digits: number[], weights: number[]): number {
	const sum = digits.reduce((acc, d, i) => acc + d * weights[i], 0);
	const rest = sum % 11;
	return rest < 2 ? 0 : 11 - rest;
}

export function isValidCpf(value: string): boolean {
	const d = digitsOnly(value);
	if (d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
	const n = [...d].map(Number);
	const first = checkDigit(n.slice(0, 9), [10, 9, 8, 7, 6, 5, 4, 3, 2]);
	const second = checkDigit(n.slice(0, 10), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
	return first === n[9] && second === n[10];
}

export function isValidCnpj(value: string): boolean {
	const d = digitsOnly(value);
	if (d.length !== 14 || /^(\d)\1{13}$/.test(d)) return false;
	const n = [...d].map(Number);
	const first = checkDigit(n.slice(0, 12), [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
	const second = checkDigit(n.slice(0, 13), [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]);
	return first === n[12] && second === n[13];
}

export type DocumentKind = 'cpf' | 'cnpj';

/** The digits and kind of a valid CPF or CNPJ, or undefined. */
export function parseDocument(value: string): { kind: DocumentKind; digits: string } | undefined {
	const d = digitsOnly(value);
	if (d.length === 11 && isValidCpf(d)) return { kind: 'cpf', digits: d };
	if (d.length === 14 && isValidCnpj(d)) return { kind: 'cnpj', digits: d };
	return undefined;
}
