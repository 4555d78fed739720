/**
 * Markers the pack writes into the notes and activities it creates, so that it can find them again:
 * after a create whose answer was lost (was it made?), and after two processes made the same one at once
 * (which one stays?). A marker is a short hash of what the effect is for (a deal and a rule, a deal and an
 * event), shown as a small "ref" line a salesperson can ignore. Pure.
 */
import { createHash } from 'node:crypto';

export function effectMarker(...parts: Array<string | number>): string {
	return `cr:${createHash('sha256').update(parts.map(String).join('|')).digest('hex').slice(0, 16)}`;
}

/** HTML (notes and activity notes are HTML in Pipedrive) with the marker line appended. */
export function withMarker(html: string, marker: string): string {
	return `${html}<p><small>ref ${marker}</small></p>`;
}

export function hasMarker(text: unknown, marker: string): boolean {
	return typeof text === 'string' && text.includes(`ref ${marker}<`);
}

/**
 * Of several rows made for one effect, the one that stays: the oldest (lowest id). Every process that
 * looks after its create agrees on it whatever it saw, because a row made earlier has a lower id and a
 * listing shows what was made before it (read-after-write): a process that saw only its own row made the
 * oldest one.
 */
export function survivorOf<T extends { id: number }>(
	rows: T[],
): { keep: T; extra: T[] } | undefined {
	if (!rows.length) return undefined;
	const sorted = [...rows].sort((a, b) => a.id - b.id);
	return { keep: sorted[0], extra: sorted.slice(1) };
}
