/**
 * Follow-up rules a shop owner edits in the n8n editor, evaluated against deals. Pure: given the rules,
 * the deals and the time, it says which activities to create. Each rule fires at most once per deal (the
 * deal carries the names of the rules already applied); a paid deal stops them all.
 */
import { DateTime } from 'luxon';

import type { CheckoutStatus } from './state';
import { escapeHtml } from '../html/escape';

/**
 * The states a rule can wait on, with the name the editor shows for each (sorted by name, as the editor
 * lists options): the one list the rules table's choices and the RuleTrigger type come from.
 */
export const RULE_TRIGGERS = [
	{ name: 'Abandoned (Form Sent, No Payment Started)', value: 'abandoned' },
	{ name: 'Expired', value: 'expired' },
	{ name: 'Payment Failed', value: 'failed' },
	{ name: 'Pending Payment', value: 'pending_payment' },
	{ name: 'Underpaid (Paid Less Than Expected)', value: 'underpaid' },
] as const;

export type RuleTrigger = (typeof RULE_TRIGGERS)[number]['value'];

export function isRuleTrigger(value: unknown): value is RuleTrigger {
	return RULE_TRIGGERS.some((trigger) => trigger.value === value);
}
export type OwnerChoice =
	| { kind: 'dealOwner' }
	| { kind: 'user'; userId: number }
	| { kind: 'roundRobin'; userIds: number[] };

export interface BusinessHours {
	timeZone: string;
	/** ISO weekdays, 1 = Monday … 7 = Sunday. */
	days: number[];
	/** 'HH:MM', local. */
	opens: string;
	closes: string;
}

export interface FollowUpRule {
	name: string;
	when: RuleTrigger;
	afterMinutes: number;
	activityType: string;
	subject: string;
	note?: string;
	dueInDays: number;
	/** 'HH:MM' in the business-hours time zone (or UTC without business hours). */
	dueTime: string;
	owner: OwnerChoice;
	businessHours?: BusinessHours;
}

export interface DealForRules {
	dealId: number;
	status: CheckoutStatus;
	/** When the deal entered its current status (ISO). */
	statusSince: string;
	ownerId: number;
	rulesApplied: string[];
	fields: Record<string, string | number | undefined>;
}

export interface PlannedActivity {
	dealId: number;
	rule: string;
	type: string;
	subject: string;
	note?: string;
	/** 'YYYY-MM-DD' and 'HH:MM' in UTC, as Pipedrive stores them. */
	dueDate: string;
	dueTime: string;
	ownerId: number;
}

/** A started checkout counts as abandoned; the other triggers are the statuses of the same name. */
function matches(rule: FollowUpRule, status: CheckoutStatus): boolean {
	return rule.when === 'abandoned' ? status === 'started' : rule.when === status;
}

/** `{{name}}`, `{{product}}`, `{{amount}}`, `{{paymentLink}}` and any other deal field; unknown ones stay empty. */
/**
 * Fills `{{field}}` placeholders. The template is the shop's; the values may be the buyer's (a name typed
 * into a form), so each value is encoded for where it lands: `html` for an activity note (Pipedrive renders
 * notes as HTML), `text` for a subject (shown as plain text: markup characters and line breaks are dropped
 * rather than shown as entities).
 */
export function renderTemplate(
	template: string,
	fields: Record<string, string | number | undefined>,
	encode: 'html' | 'text',
): string {
	return template.replace(/\{\{\s*([a-zA-Z0-9_]+)\s*\}\}/g, (_m, key: string) => {
		const value = fields[key];
		if (value === undefined || value === null) return '';
		const text = String(value);
		if (encode === 'html') return escapeHtml(text);
		return text.replace(/[<>]/g, '').replace(/[\u0000-\u001F\u007F]+/g, ' ');
	});
}

function parseClock(hhmm: string): { hour: number; minute: number } {
	const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm.trim());
	if (!m || Number(m[1]) > 23 || Number(m[2]) > 59)
		throw new RangeError(`Not a time of day (HH:MM): "${hhmm}"`);
	return { hour: Number(m[1]), minute: Number(m[2]) };
}

/** The first moment at or after `at` inside business hours (same day if before opening, else the next open day). */
export function nextOpenSlot(at: DateTime, hours: BusinessHours): DateTime {
	const opens = parseClock(hours.opens);
	const closes = parseClock(hours.closes);
	let t = at.setZone(hours.timeZone);
	if (!t.isValid) throw new RangeError(`Unknown time zone "${hours.timeZone}"`);
	for (let i = 0; i < 14; i++) {
		const open = t.set({ hour: opens.hour, minute: opens.minute, second: 0, millisecond: 0 });
		const close = t.set({ hour: closes.hour, minute: closes.minute, second: 0, millisecond: 0 });
		if (hours.days.includes(t.weekday)) {
			if (t < open) return open;
			if (t < close) return t;
		}
		t = t
			.plus({ days: 1 })
			.set({ hour: opens.hour, minute: opens.minute, second: 0, millisecond: 0 });
		if (hours.days.includes(t.weekday)) return t;
	}
	throw new RangeError('Business hours have no open day');
}

/**
 * When the rule's activity is due: `dueInDays` days from now at `dueTime`, then the next open slot. A time
 * already past (a rule "due today at 09:00" firing at 21:40) would make an activity that is overdue the
 * moment it exists: it moves to the next minute, and from there to the next open slot.
 */
export function dueFor(rule: FollowUpRule, now: Date): DateTime {
	const zone = rule.businessHours?.timeZone ?? 'UTC';
	const { hour, minute } = parseClock(rule.dueTime);
	const current = DateTime.fromJSDate(now, { zone });
	let due = current.plus({ days: rule.dueInDays }).set({ hour, minute, second: 0, millisecond: 0 });
	if (due < current) due = current.plus({ minutes: 1 }).set({ second: 0, millisecond: 0 });
	return rule.businessHours ? nextOpenSlot(due, rule.businessHours) : due;
}

export function planFollowUps(
	rules: FollowUpRule[],
	deals: DealForRules[],
	now: Date,
	roundRobinStart = 0,
): PlannedActivity[] {
	const planned: PlannedActivity[] = [];
	let turn = roundRobinStart;
	for (const deal of deals) {
		if (deal.status === 'paid') continue;
		const since = Date.parse(deal.statusSince);
		for (const rule of rules) {
			if (!matches(rule, deal.status) || deal.rulesApplied.includes(rule.name)) continue;
			if (now.getTime() - since < rule.afterMinutes * 60_000) continue;
			const due = dueFor(rule, now).toUTC();
			const ownerId =
				rule.owner.kind === 'dealOwner'
					? deal.ownerId
					: rule.owner.kind === 'user'
						? rule.owner.userId
						: rule.owner.userIds[turn++ % rule.owner.userIds.length];
			planned.push({
				dealId: deal.dealId,
				rule: rule.name,
				type: rule.activityType,
				subject: renderTemplate(rule.subject, deal.fields, 'text'),
				note: rule.note ? renderTemplate(rule.note, deal.fields, 'html') : undefined,
				dueDate: due.toFormat('yyyy-MM-dd'),
				dueTime: due.toFormat('HH:mm'),
				ownerId,
			});
		}
	}
	return planned;
}
