/**
 * One list of rule triggers (lib/checkout/rules RULE_TRIGGERS) feeds the RuleTrigger type, the rules
 * table's validation and the node's "When" options.
 */
import type { INodeProperties, INodePropertyCollection } from 'n8n-workflow';

import { rulesFromTable } from '../../lib/checkout/ruleTable';
import { planFollowUps, RULE_TRIGGERS, type DealForRules } from '../../lib/checkout/rules';
import { description } from '../../nodes/PipedriveFollowUp/actions/followUp/runFollowUpRules.operation';

const row = {
	name: 'Rule',
	after: 1,
	afterUnit: 'hours',
	activityType: 'call',
	subject: 'Call {{name}}',
	useBusinessHours: false,
};

function whenProperty(): INodeProperties {
	const rules = description.find((property) => property.name === 'rules')!;
	const [rule] = rules.options as INodePropertyCollection[];
	return rule.values.find((value) => value.name === 'when')!;
}

it("offers the node's When choices from the one list, sorted by name", () => {
	const when = whenProperty();
	expect(when.options).toEqual(RULE_TRIGGERS.map(({ name, value }) => ({ name, value })));
	const names = RULE_TRIGGERS.map((trigger) => trigger.name);
	expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
	expect(RULE_TRIGGERS.map((trigger) => trigger.value)).toContain(when.default);
});

it.each(RULE_TRIGGERS.map((trigger) => trigger.value))(
	'a rule waiting for %s fires on a deal in that state',
	(trigger) => {
		const [rule] = rulesFromTable([{ ...row, when: trigger }]);
		expect(rule.when).toBe(trigger);
		const now = new Date('2026-11-27T15:00:00Z');
		const deal: DealForRules = {
			dealId: 7,
			status: trigger === 'abandoned' ? 'started' : trigger,
			statusSince: '2026-11-27T12:00:00Z',
			ownerId: 1,
			rulesApplied: [],
			fields: {},
		};
		expect(planFollowUps([rule], [deal], now).map((activity) => activity.rule)).toEqual(['Rule']);
	},
);

it('waits for an abandoned checkout when the row names no state, and refuses a state that is not one', () => {
	expect(rulesFromTable([row])[0].when).toBe('abandoned');
	expect(() => rulesFromTable([{ ...row, when: 'paid' }])).toThrow(
		'Rule "Rule" waits for "paid", which is not a checkout state (one of: abandoned, expired, failed, pending_payment, underpaid)',
	);
});
