import {
	idMarkerKey,
	keySafeEventId,
	moveKey,
	objectKey,
	parseKey,
	startAfterForTime,
	timePath,
} from '../../lib/archive/keys';

const T = Date.UTC(2026, 10, 27, 9, 5, 7, 123); // 2026-11-27T09:05:07.123Z

describe('archive key layout', () => {
	it('builds {prefix}/pending/{yyyy}/{mm}/{dd}/{hh}/{ms}-{id}.json in UTC', () => {
		expect(objectKey('checkout', 'pending', T, 'evt_1')).toBe(
			`checkout/pending/2026/11/27/09/${String(T).padStart(13, '0')}-evt_1.json`,
		);
		expect(objectKey('/a/b/', 'relayed', T, 'x')).toMatch(/^a\/b\/relayed\/2026\/11\/27\/09\//);
		expect(objectKey('', 'pending', T, 'x')).toMatch(/^pending\//);
	});

	it('sorts keys lexicographically in receive-time order, across hours, days and digit counts', () => {
		const times = [
			0,
			999,
			1000,
			T - 3_600_000,
			T - 1,
			T,
			T + 1,
			T + 86_400_000,
			Date.UTC(2027, 0, 1),
		];
		const keys = times.map((t) => objectKey('p', 'pending', t, 'e'));
		expect([...keys].sort()).toEqual(keys);
	});

	it('keeps plain event ids and hashes unsafe ones', () => {
		expect(keySafeEventId('evt_1Pq.R-z')).toBe('evt_1Pq.R-z');
		for (const unsafe of ['a/b', '..', 'ação', 'x'.repeat(200), 'a b', '']) {
			const safe = keySafeEventId(unsafe);
			expect(safe).toMatch(/^h-[0-9a-f]{40}$/);
		}
		expect(keySafeEventId('a/b')).not.toBe(keySafeEventId('a b'));
		expect(idMarkerKey('p', 'a/b')).toBe(`p/ids/${keySafeEventId('a/b')}`);
	});

	it('parses its own keys and moves them between state folders keeping the tail', () => {
		const key = objectKey('checkout', 'pending', T, 'evt_9');
		expect(parseKey('checkout', key)).toEqual({
			state: 'pending',
			receivedAtMs: T,
			safeEventId: 'evt_9',
			tail: key.slice('checkout/pending/'.length),
		});
		expect(moveKey('checkout', key, 'relayed')).toBe(objectKey('checkout', 'relayed', T, 'evt_9'));
		expect(parseKey('checkout', 'checkout/pending/readme.txt')).toBeUndefined();
		expect(parseKey('other', key)).toBeUndefined();
		expect(() => moveKey('checkout', 'checkout/ids/x', 'relayed')).toThrow(
			/Not an archive object key/,
		);
	});

	it('makes a key unique to its write with a nonce, parsed like the keys written before it existed', () => {
		const key = objectKey(
			'checkout',
			'pending',
			T,
			'0194f0c2-aaaa-7000-8000-00000000000a.abcdef123456',
			'k3x9q2zz',
		);
		expect(key).toBe(
			`checkout/pending/2026/11/27/09/${String(T).padStart(13, '0')}.k3x9q2zz-0194f0c2-aaaa-7000-8000-00000000000a.abcdef123456.json`,
		);
		expect(parseKey('checkout', key)).toMatchObject({
			receivedAtMs: T,
			safeEventId: '0194f0c2-aaaa-7000-8000-00000000000a.abcdef123456',
		});
		expect(moveKey('checkout', key, 'relayed')).toBe(key.replace('/pending/', '/relayed/'));
		expect(() => objectKey('checkout', 'pending', T, 'e', 'NOT/SAFE')).toThrow(RangeError);
		// Still after the time's StartAfter, in time order with keys without a nonce.
		expect(key > startAfterForTime('checkout', 'pending', T)).toBe(true);
		expect(key < objectKey('checkout', 'pending', T + 1, 'a')).toBe(true);
	});

	it('gives a StartAfter that excludes earlier times and includes the start time', () => {
		const start = startAfterForTime('p', 'relayed', T);
		expect(objectKey('p', 'relayed', T, 'a') > start).toBe(true);
		expect(objectKey('p', 'relayed', T - 1, 'zzzz') < start).toBe(true);
		expect(objectKey('p', 'relayed', T - 3_600_000, 'zzzz') < start).toBe(true);
	});

	it('refuses times that cannot be laid out', () => {
		expect(() => timePath(-1)).toThrow(RangeError);
		expect(() => timePath(1.5)).toThrow(RangeError);
	});
});
