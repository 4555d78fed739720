/**
 * One form post → what the lead capture does with it: a priced lead message (with its ids and signed pay
 * link) to store, the answer for fields to fix, or a bot to thank and drop. Shared by Checkout Form →
 * Parse (the visual workflow) and the Checkout Form Trigger (the fast path), so that both answer a post
 * the same way. Pure: no n8n, no I/O.
 */
import { leadCapturedMessage, type LeadCapturedMessage } from '../checkout/message';
import { leadIdOfToken, payLinkFor, type LinkSettings } from '../links/checkoutLinks';
import type { CatalogRow } from './catalog';
import type { FieldError } from './fieldError';
import { leadRevisionAt, leadRevisionEventId, uuidv7 } from './ids';
import { validateLead, type FieldMapping } from './lead';
import { rejectionAnswer, type HttpAnswer } from './responses';

/** What the shop configured: the catalog, the field names, what is required. */
export interface LeadFormSettings {
	mapping: FieldMapping;
	catalog: CatalogRow[];
	currency: string;
	requireConsent: boolean;
	requirePhone: boolean;
	requireDocument: boolean;
	requireAddress: boolean;
	/** The lead id comes from the page's random checkout token (Elementor), not a new UUIDv7. */
	leadIdFromToken: boolean;
	/** Where the error page's "go back" link leads (none: the browser's back). */
	backUrl?: string;
}

/** A post as the webhook received it: the parsed body, the query and the (lower-case) headers. */
export interface LeadPost {
	body: unknown;
	query: Record<string, unknown>;
	headers: Record<string, unknown>;
}

export type LeadPostOutcome =
	| { kind: 'lead'; message: LeadCapturedMessage }
	| { kind: 'rejected'; errors: FieldError[]; answer: HttpAnswer }
	| { kind: 'bot'; field: string };

const header = (headers: Record<string, unknown>, name: string) =>
	typeof headers[name] === 'string' ? (headers[name] as string) : undefined;

export function evaluateLeadPost(
	settings: LeadFormSettings,
	post: LeadPost,
	links: LinkSettings,
	now = Date.now(),
): LeadPostOutcome {
	const result = validateLead(post.body ?? {}, post.query, {
		mapping: settings.mapping,
		catalog: settings.catalog,
		currency: settings.currency,
		requireConsent: settings.requireConsent,
		requirePhone: settings.requirePhone,
		requireDocument: settings.requireDocument,
		requireAddress: settings.requireAddress,
		requireCheckoutToken: settings.leadIdFromToken,
		contentType: header(post.headers, 'content-type'),
		referer: header(post.headers, 'referer'),
		now,
	});
	if (result.ok === 'bot') return { kind: 'bot', field: result.field };
	if (result.ok === false)
		return {
			kind: 'rejected',
			errors: result.errors,
			answer: rejectionAnswer(
				result.errors,
				header(post.headers, 'accept'),
				settings.backUrl,
				result.status,
			),
		};
	const leadId =
		settings.leadIdFromToken && result.checkoutToken
			? leadIdOfToken(result.checkoutToken)
			: uuidv7(now);
	const revision = leadRevisionAt({ leadId, ...result.lead }, now);
	return {
		kind: 'lead',
		message: leadCapturedMessage({
			leadId,
			eventId: leadRevisionEventId(leadId, revision),
			revision,
			capturedAt: new Date(now).toISOString(),
			lead: result.lead,
			payLink: payLinkFor(leadId, links, now),
		}),
	};
}
