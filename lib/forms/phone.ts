/**
 * Phone numbers to E.164, Brazil by default: "(11) 98765-4321" → "+5511987654321". Other countries must
 * be typed with their + prefix. Brazilian numbers: 2-digit area code (11–99), then 8 digits (landline) or
 * 9 digits starting with 9 (mobile).
 */
export function toE164(input: string, defaultCountry: 'BR' = 'BR'): string | undefined {
	const trimmed = input.trim();
	let digits = trimmed.replace(/\D/g, '');
	if (trimmed.startsWith('+') || trimmed.startsWith('00')) {
		if (trimmed.startsWith('00')) digits = digits.slice(2);
		if (digits.startsWith('55')) return brazilian(digits.slice(2));
		return digits.length >= 8 && digits.length <= 15 ? `+${digits}` : undefined;
	}
	if (defaultCountry === 'BR') {
		if (digits.startsWith('0'))
			digits = digits.replace(/^0+/, '').replace(/^(\d{2})(?=\d{10,11}$)/, ''); // 0 + carrier code
		if ((digits.length === 12 || digits.length === 13) && digits.startsWith('55'))
			return brazilian(digits.slice(2));
		return brazilian(digits);
	}
	return undefined;
}

function brazilian(national: string): string | undefined {
	const m = /^([1-9][1-9])(9\d{8}|[2-8]\d{7})$/.exec(national);
	return m ? `+55${m[1]}${m[2]}` : undefined;
}
