import type { PipedriveClient, Row } from '../client';
import { hasMarker, withMarker } from '../markers';

/**
 * A note with its marker; after an ambiguous failure the deal's notes are searched for it first (every
 * page). `lookFirst`: also before the first try, when the caller cannot tell whether it was made before
 * (its deal dropped old event ids).
 */
export async function addNoteOnce(
	client: PipedriveClient,
	dealId: number,
	html: string,
	marker: string,
	personId?: number,
	lookFirst = false,
): Promise<Row> {
	if (lookFirst) {
		const made = await client.findDealNote(dealId, (n) => hasMarker(n.content, marker));
		if (made) return made;
	}
	return await client.addNote(
		{
			content: withMarker(html, marker),
			deal_id: dealId,
			...(personId ? { person_id: personId } : {}),
		},
		async () => await client.findDealNote(dealId, (n) => hasMarker(n.content, marker)),
	);
}
