/**
 * The rules table of the Run Follow-Up Rules node (one row per rule, as the editor's fixed collection
 * hands it over) → the rule engine's rules. A rule that cannot work is an error that names it, so a shop
 * owner who edits the table sees what to fix before any deal is touched.
 */
import { isRuleTrigger, RULE_TRIGGERS, type FollowUpRule, type OwnerChoice } from './rules';

/** One row of the table: the editor's values, of whatever type an expression gave. */
export type RuleTableRow = Record<string, unknown>;

const MINUTES = { minutes: 1, hours: 60, days: 1440 } as const;

/** The rules table of the editor, as the rule engine's rules; a rule that cannot work is an error naming it. */
export function rulesFromTable(rows: RuleTableRow[]): FollowUpRule[] {
	const names = new Set<string>();
	return rows.map((row, index) => {
		const name = String(row.name ?? '').trim();
		const label = name ? `Rule "${name}"` : `Rule ${index + 1}`;
		if (!name) throw new Error(`${label} has no name`);
		if (names.has(name))
			throw new Error(
				`Two rules are named "${name}": a deal remembers rules by name, so names must differ`,
			);
		names.add(name);
		const ownerKind = (row.owner as string) ?? 'dealOwner';
		let owner: OwnerChoice = { kind: 'dealOwner' };
		if (ownerKind === 'user') {
			const userId = Number(row.userId);
			if (!userId) throw new Error(`${label} assigns a chosen user, but no user is chosen`);
			owner = { kind: 'user', userId };
		} else if (ownerKind === 'roundRobin') {
			const userIds = ((row.roundRobinUserIds as Array<string | number>) ?? [])
				.map(Number)
				.filter(Boolean);
			if (!userIds.length) throw new Error(`${label} uses round robin, but lists no users`);
			owner = { kind: 'roundRobin', userIds };
		}
		const when: unknown = row.when ?? 'abandoned';
		if (!isRuleTrigger(when))
			throw new Error(
				`${label} waits for "${String(when)}", which is not a checkout state (one of: ${RULE_TRIGGERS.map((t) => t.value).join(', ')})`,
			);
		const days = ((row.days as Array<string | number>) ?? []).map(Number);
		if (row.useBusinessHours !== false && !days.length)
			throw new Error(`${label} uses business hours without open days`);
		return {
			name,
			when,
			afterMinutes:
				Number(row.after ?? 0) * MINUTES[(row.afterUnit as keyof typeof MINUTES) ?? 'hours'],
			activityType: String(row.activityType || 'call'),
			subject: String(row.subject ?? ''),
			note: row.note ? String(row.note) : undefined,
			dueInDays: Number(row.dueInDays ?? 0),
			dueTime: String(row.dueTime || '10:00'),
			owner,
			businessHours:
				row.useBusinessHours === false
					? undefined
					: {
							timeZone: String(row.timeZone || 'UTC'),
							days,
							opens: String(row.opens || '09:00'),
							closes: String(row.closes || '18:00'),
						},
		};
	});
}
