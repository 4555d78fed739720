import { redactPersonalData } from '../../lib/util/redact';

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
