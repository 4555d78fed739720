import { effectMarker, hasMarker, survivorOf, withMarker } from '../../lib/pipedrive/markers';

it('marks an effect by what it is for, and finds the mark again only in text the pack wrote', () => {
	const marker = effectMarker('follow-up', 42, 'Abandoned after 1 hour');
	expect(marker).toMatch(/^cr:[0-9a-f]{16}$/);
	expect(effectMarker('follow-up', 42, 'Abandoned after 1 hour')).toBe(marker);
	expect(effectMarker('follow-up', 43, 'Abandoned after 1 hour')).not.toBe(marker);
	const html = withMarker('<p>Ligar</p>', marker);
	expect(hasMarker(html, marker)).toBe(true);
	expect(hasMarker(`quoted: ${marker}`, marker)).toBe(false);
	expect(hasMarker(null, marker)).toBe(false);
});

it('keeps the oldest of several rows made for one effect, whatever order they are listed in', () => {
	expect(survivorOf([{ id: 9 }, { id: 3 }, { id: 5 }])).toEqual({
		keep: { id: 3 },
		extra: [{ id: 5 }, { id: 9 }],
	});
	expect(survivorOf([{ id: 7 }])).toEqual({ keep: { id: 7 }, extra: [] });
	expect(survivorOf([])).toBeUndefined();
});
