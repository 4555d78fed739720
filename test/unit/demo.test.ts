import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { demoWait, localWorkflow, SHIPPED_SHOP_ORIGIN } from '../../testbench/demo';
import { REPO_ROOT } from '../../testbench/n8n';
import { notFinishedHtml } from '../../testbench/standins/shopPage';

const shipped = (file: string) =>
	JSON.parse(readFileSync(join(REPO_ROOT, 'workflows', file), 'utf8')) as Parameters<
		typeof localWorkflow
	>[0];

describe('the local pipeline workflows', () => {
	it('send the buyer back to the local shop, and never put a pay link in a shop address', () => {
		const local = JSON.stringify(
			localWorkflow(shipped('checkout-lead-capture.json'), {
				shopOrigin: 'http://127.0.0.1:8080',
				demoClock: false,
			}),
		);
		expect(local).not.toContain(SHIPPED_SHOP_ORIGIN);
		expect(local).toContain('http://127.0.0.1:8080/obrigado');
		// The "not finished" page is n8n's own; it links back to the shop's page, with no pay link in it.
		expect(local).toContain('http://127.0.0.1:8080/pagamento-nao-concluido\\"');
		expect(local).not.toContain('?retry=');
	});

	it('under the demo clock fire every rule within minutes, every 30 s, outside business hours too', () => {
		const rules = localWorkflow(shipped('followup-rules.json'), {
			shopOrigin: 'http://127.0.0.1:8080',
			demoClock: true,
		});
		const node = rules.nodes.find((n) => n.type.endsWith('pipedriveFollowUp'))!;
		const rows = (node.parameters.rules as { rule: Array<Record<string, unknown>> }).rule;
		expect(rows.map((r) => [r.when, r.after, r.afterUnit, r.useBusinessHours])).toEqual([
			['abandoned', 1, 'minutes', false],
			['failed', 1, 'minutes', false],
			['pending_payment', 2, 'minutes', false],
			['expired', 1, 'minutes', false],
		]);
		expect(rules.nodes.find((n) => n.type.endsWith('scheduleTrigger'))!.parameters.rule).toEqual({
			interval: [{ field: 'seconds', secondsInterval: 30 }],
		});
		// Without it, the shipped timings stay.
		expect(
			JSON.stringify(
				localWorkflow(shipped('followup-rules.json'), { shopOrigin: 'x', demoClock: false }),
			),
		).toBe(JSON.stringify(shipped('followup-rules.json')));
	});

	it('a day of the rules lasts a minute, and none waits less than one', () => {
		expect(demoWait(10, 'minutes')).toBe(1);
		expect(demoWait(1, 'hours')).toBe(1);
		expect(demoWait(2, 'days')).toBe(2);
		expect(demoWait(36, 'hours')).toBe(2);
	});
});

describe('the local shop pages', () => {
	const PAY = 'http://127.0.0.1:5678/webhook/checkout/pay';
	it("offer the buyer's own pay link to try again, and no other link", () => {
		expect(notFinishedHtml(`${PAY}?lead=abc.def`, PAY)).toContain(`href="${PAY}?lead=abc.def"`);
		for (const other of ['https://evil.example/?x', `${PAY}x?lead=1`, 'javascript:alert(1)', null])
			expect(notFinishedHtml(other, PAY)).not.toContain('id="retry"');
		expect(notFinishedHtml(`${PAY}?lead="><script>`, PAY)).not.toContain('<script>');
	});
});
