import type { PipedriveClient, Row } from '../client';
import { hasMarker, withMarker } from '../markers';

/** A note with its marker; after an ambiguous failure, the deal's notes are searched for it first. */
export async function addNoteOnce(
	client: PipedriveClient,
	dealId: number,
	html: string,
	marker: string,
	personId?: number,
): Promise<Row> {
	return await client.addNote(
		{
			content: withMarker(html, marker),
			deal_id: dealId,
			...(personId ? { person_id: personId } : {}),
		},
		async () => (await client.dealNotes(dealId)).find((n) => hasMarker(n.content, marker)),
	);
}
