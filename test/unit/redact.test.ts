import { redactPersonalData, redactVendorText } from '../../lib/util/redact';

it('masks e-mails, phones and CPF/CNPJ in text the pack logs, and keeps ids in paths', () => {
	const text =
		'Pipedrive answered 400: {"error":"Person ana.souza+shop@example.com.br exists","phone":"+5511987654321","alt":"(11) 98765-4321","cpf":"529.982.247-25","cnpj":"11.444.777/0001-61","doc":"52998224725","docs":"11444777000161","bare":"5511987654321"}';
	const out = redactPersonalData(text);
	for (const secret of [
		'ana.souza',
		'example.com',
		'5511987654321',
		'98765-4321',
		'529.982.247-25',
		'11.444.777/0001-61',
		'52998224725',
		'11444777000161',
	])
		expect(out).not.toContain(secret);
	expect(out).toContain('Person <e-mail> exists');
	expect(out).toContain('"phone":"<phone>"');
	expect(out).toContain('"cpf":"<document>"');
	// What an operator needs stays: the call, payment and deal ids, times, amounts.
	const plain =
		'mercadopago GET /v1/payments/55500011122 failed at 2026-11-30T10:00:00.000Z; deal 1234, value 197.90';
	expect(redactPersonalData(plain)).toBe(plain);
});

describe('a vendor error text', () => {
	it('masks the values a vendor quotes back (a name, an address), keeping what the error is', () => {
		expect(
			redactVendorText(
				"Invalid value 'Maria Souza' for field name; street “Rua das Flores, 12” unknown",
			),
		).toBe('Invalid value "…" for field name; street "…" unknown');
	});

	it('reduces a JSON error body to its error fields, then masks them', () => {
		const body = JSON.stringify({
			success: false,
			error: 'Person "Maria Souza" could not be saved',
			error_info: 'Please check developers.pipedrive.com',
			data: { name: 'Maria Souza', address: 'Rua das Flores, 12', email: 'maria@example.com' },
		});
		const text = redactVendorText(body);
		expect(text).toBe(
			'error: Person "…" could not be saved; error_info: Please check developers.pipedrive.com',
		);
		expect(text).not.toMatch(/Maria|Flores|maria@/);
		// Mercado Pago's shape: message and nested causes.
		expect(
			redactVendorText(
				JSON.stringify({
					message: 'invalid payer',
					cause: [{ code: 4020, description: "payer.first_name 'Ana' is invalid" }],
				}),
			),
		).toBe('message: invalid payer; code: 4020; description: payer.first_name "…" is invalid');
	});

	it('still masks e-mails, phones and documents, and caps the length', () => {
		expect(redactVendorText('conflict for ana@example.com, +5511987654321')).toBe(
			'conflict for <e-mail>, <phone>',
		);
		expect(redactVendorText('x'.repeat(1000))).toHaveLength(300);
	});
});
