/**
 * Storing a verified payment event: the one way the fast-intake trigger and Webhook Archive → Store do it.
 * The event goes into the inbox and, when it is a payment the gateway vouches for, its lead's pay links
 * are closed (lib/checkout/message's `leadPaidBy`) in the same breath: both writes go out together and
 * both must be confirmed before the sender gets its answer, so a failure of either is an error the sender
 * retries (the retry is then a duplicate). No n8n imports.
 */
import { leadPaidBy } from '../checkout/message';
import type { S3Archive, StoreInput, StoredEvent } from './archive';
import type { LeadRegistry } from './leadRegistry';

export interface VerifiedEventInput extends StoreInput {
	/** The event as the body carries it, when the caller has it as an object (what decides the closing). */
	event?: { type?: unknown; leadRef?: unknown; confirm?: unknown; occurredAt?: unknown };
	/** Whether a paid event closes its lead's links (the intake's choice; off for plain archiving). */
	closeLinks: boolean;
}

export type StoredVerifiedEvent = StoredEvent & { linksClosed: boolean };

export async function storeVerifiedEvent(
	inbox: S3Archive,
	leads: LeadRegistry,
	input: VerifiedEventInput,
): Promise<StoredVerifiedEvent> {
	const { event, closeLinks, ...store } = input;
	const paidLead = closeLinks && event ? leadPaidBy(event) : undefined;
	const [stored] = await Promise.all([
		inbox.store(store),
		paidLead
			? leads.closeLead(paidLead, {
					eventId: store.eventId ?? '',
					occurredAt: typeof event?.occurredAt === 'string' ? event.occurredAt : undefined,
				})
			: undefined,
	]);
	return { ...stored, linksClosed: paidLead !== undefined };
}
