/**
 * The deal custom fields the pack keeps its state in, and how that state is written into them and read
 * back. Pure. Fields are found by name (their keys are 40-character hashes that differ per account),
 * so a shop owner can see and filter on them in Pipedrive, and a second Setup finds what the first made.
 */
import type { CheckoutStatus, DealCheckoutState } from '../checkout/state';

export type CheckoutFieldId =
	| 'status'
	| 'leadId'
	| 'paymentLink'
	| 'gateway'
	| 'lastEventAt'
	| 'followUps'
	| 'eventIds'
	| 'product'
	| 'earlierLeadId'
	| 'source';

export interface CheckoutFieldSpec {
	id: CheckoutFieldId;
	name: string;
	type: 'enum' | 'varchar' | 'text';
	options?: string[];
}

export const STATUS_LABELS: Record<CheckoutStatus, string> = {
	started: 'Started',
	pending_payment: 'Pending payment',
	paid: 'Paid',
	failed: 'Failed',
	expired: 'Expired',
	underpaid: 'Underpaid',
};

export const CHECKOUT_FIELDS: CheckoutFieldSpec[] = [
	{ id: 'status', name: 'Checkout status', type: 'enum', options: Object.values(STATUS_LABELS) },
	{ id: 'leadId', name: 'Checkout lead id', type: 'varchar' },
	{ id: 'paymentLink', name: 'Checkout payment link', type: 'varchar' },
	{ id: 'gateway', name: 'Checkout gateway', type: 'varchar' },
	{ id: 'lastEventAt', name: 'Checkout last event time', type: 'varchar' },
	{ id: 'followUps', name: 'Checkout follow-ups applied', type: 'text' },
	// Not in the original list: without it a refund delivered twice would add two notes.
	{ id: 'eventIds', name: 'Checkout events applied', type: 'text' },
	// So that follow-up templates can name the product without an extra call per deal.
	{ id: 'product', name: 'Checkout product', type: 'varchar' },
	// The lead id of the buyer's latest other submission for this open checkout (the deal keeps its first
	// lead): a payment through that submission's link (its gateway checkout carries that id) still finds
	// this deal by search, also after a restart. The name is kept as installs created it.
	{ id: 'earlierLeadId', name: 'Checkout earlier lead id', type: 'varchar' },
	// The lead's UTM source, for the recovery report by source from the deal listing alone.
	{ id: 'source', name: 'Checkout source', type: 'varchar' },
];

export interface FieldKeys {
	keys: Record<CheckoutFieldId, string>;
	/** Option id of each status in the single-option field. */
	statusOptions: Record<CheckoutStatus, number>;
}

export interface ExistingField {
	field_name: string;
	field_code: string;
	field_type: string;
	options?: Array<{ id: number | string; label: string }> | null;
}

export interface FieldResolution {
	found: Partial<Record<CheckoutFieldId, ExistingField>>;
	missing: CheckoutFieldSpec[];
	/** Options a found single-option field lacks (a field made by an older version of the pack): Setup adds them. */
	missingOptions: Array<{ id: CheckoutFieldId; fieldCode: string; labels: string[] }>;
	/** Fields that exist with the right name but cannot be used as they are. */
	conflicts: string[];
}

const norm = (s: string) => s.trim().toLowerCase();

export function resolveFields(existing: ExistingField[]): FieldResolution {
	const found: FieldResolution['found'] = {};
	const missing: CheckoutFieldSpec[] = [];
	const missingOptions: FieldResolution['missingOptions'] = [];
	const conflicts: string[] = [];
	for (const spec of CHECKOUT_FIELDS) {
		const field = existing.find((f) => norm(f.field_name) === norm(spec.name));
		if (!field) {
			missing.push(spec);
			continue;
		}
		const textual = ['varchar', 'text', 'varchar_auto'];
		if (spec.type === 'enum' ? field.field_type !== 'enum' : !textual.includes(field.field_type)) {
			conflicts.push(
				`"${spec.name}" is a ${field.field_type} field; the pack needs ${spec.type === 'enum' ? 'a single option field' : 'a text field'}`,
			);
			continue;
		}
		if (spec.options) {
			const labels = (field.options ?? []).map((o) => norm(o.label));
			const absent = spec.options.filter((o) => !labels.includes(norm(o)));
			if (absent.length)
				missingOptions.push({ id: spec.id, fieldCode: field.field_code, labels: absent });
		}
		found[spec.id] = field;
	}
	return { found, missing, missingOptions, conflicts };
}

export function fieldKeysOf(found: FieldResolution['found']): FieldKeys {
	const keys = {} as Record<CheckoutFieldId, string>;
	for (const spec of CHECKOUT_FIELDS) {
		const field = found[spec.id];
		if (!field) throw new Error(`The deal field "${spec.name}" is missing`);
		keys[spec.id] = field.field_code;
	}
	const statusOptions = {} as Record<CheckoutStatus, number>;
	for (const [status, label] of Object.entries(STATUS_LABELS) as Array<[CheckoutStatus, string]>) {
		const option = found.status?.options?.find((o) => norm(o.label) === norm(label));
		if (!option) throw new Error(`The deal field "Checkout status" lacks the option "${label}"`);
		statusOptions[status] = Number(option.id);
	}
	return { keys, statusOptions };
}

// ---- follow-ups applied: "rule name#activity id; …", readable in Pipedrive's deal view ----

export interface AppliedFollowUp {
	rule: string;
	activityId?: number;
}

export function parseFollowUps(value: unknown): AppliedFollowUp[] {
	if (typeof value !== 'string' || !value.trim()) return [];
	return value
		.split(';')
		.map((part) => part.trim())
		.filter(Boolean)
		.map((part) => {
			const m = /^(.*)#(\d+)$/.exec(part);
			return m ? { rule: m[1].trim(), activityId: Number(m[2]) } : { rule: part };
		});
}

export function formatFollowUps(applied: AppliedFollowUp[]): string {
	return applied.map((a) => (a.activityId ? `${a.rule}#${a.activityId}` : a.rule)).join('; ');
}

/** Rule names end up in that list, so they cannot contain its separators. */
export function checkRuleName(name: string): void {
	if (!name.trim())
		throw new Error(
			'Every follow-up rule needs a name (it is how a deal remembers the rule fired)',
		);
	if (/[;#]/.test(name))
		throw new Error(
			`The rule name "${name}" contains ";" or "#", which the deal's follow-up list uses as separators`,
		);
}

// ---- the checkout state on a deal ----

export function readCheckoutState(
	customFields: Record<string, unknown> | undefined,
	fields: FieldKeys,
): DealCheckoutState | undefined {
	const cf = customFields ?? {};
	const raw = cf[fields.keys.status];
	const optionId =
		typeof raw === 'object' && raw !== null && 'id' in raw
			? Number((raw as { id: unknown }).id)
			: Number(raw);
	const status = (Object.entries(fields.statusOptions) as Array<[CheckoutStatus, number]>).find(
		([, id]) => id === optionId,
	)?.[0];
	if (!status) return undefined;
	const ids = cf[fields.keys.eventIds];
	const listed = typeof ids === 'string' && ids ? ids.split(/\s+/).filter(Boolean) : [];
	const dropped = listed[0] === IDS_DROPPED;
	return {
		status,
		lastEventAt:
			typeof cf[fields.keys.lastEventAt] === 'string'
				? (cf[fields.keys.lastEventAt] as string)
				: '',
		appliedEventIds: dropped ? listed.slice(1) : listed,
		...(dropped ? { olderIdsDropped: true } : {}),
	};
}

/** The first word of "Checkout events applied" when older ids were dropped (DealCheckoutState.olderIdsDropped). */
const IDS_DROPPED = '…';

export function writeCheckoutState(
	state: DealCheckoutState,
	fields: FieldKeys,
): Record<string, unknown> {
	return {
		[fields.keys.status]: fields.statusOptions[state.status],
		[fields.keys.lastEventAt]: state.lastEventAt || null,
		[fields.keys.eventIds]:
			[...(state.olderIdsDropped ? [IDS_DROPPED] : []), ...state.appliedEventIds].join(' ') || null,
	};
}

export function textField(
	customFields: Record<string, unknown> | undefined,
	key: string,
): string | undefined {
	const v = customFields?.[key];
	return typeof v === 'string' && v !== '' ? v : undefined;
}
