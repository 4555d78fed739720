import { Lease, type LeaseStore } from '../../lib/archive/lease';

/** A store with read-after-write consistency and no conditional writes, like s3rver. */
function memoryStore(): LeaseStore & { value?: string } {
	const store: LeaseStore & { value?: string } = {
		read: async () => store.value,
		write: async (body) => {
			store.value = body;
		},
		remove: async () => {
			store.value = undefined;
		},
	};
	return store;
}

function clock(start = 1_000_000) {
	let t = start;
	return {
		now: () => t,
		advance: (ms: number) => (t += ms),
		sleep: async (ms: number) => void (t += ms),
	};
}

describe('lease without conditional writes', () => {
	it('is taken when free, refused while held, taken again after expiry', async () => {
		const store = memoryStore();
		const c = clock();
		const a = new Lease(store, {
			owner: 'a',
			ttlMs: 10_000,
			settleMs: 100,
			now: c.now,
			sleep: c.sleep,
		});
		const b = new Lease(store, {
			owner: 'b',
			ttlMs: 10_000,
			settleMs: 100,
			now: c.now,
			sleep: c.sleep,
		});
		expect(await a.acquire()).toBe(true);
		expect(await b.acquire()).toBe(false);
		expect(await b.heldBy()).toBe('a');
		c.advance(10_001);
		expect(await b.acquire()).toBe(true);
		expect(await a.renew()).toBe(false); // a notices it lost the lease
		expect(await b.renew()).toBe(true);
	});

	it('lets exactly one of two contenders that raced in the same window go ahead (last writer wins)', async () => {
		const store = memoryStore();
		// Both read the empty lease before either writes (the race that conditional writes would stop).
		let reads = 0;
		let bothRead!: () => void;
		const barrier = new Promise<void>((r) => (bothRead = r));
		const racing: LeaseStore = {
			...store,
			read: async () => {
				const value = store.value;
				if (++reads === 2) bothRead();
				if (reads <= 2) await barrier;
				return value;
			},
		};
		// A frozen clock: a slow machine must not make the read look too slow and end the race early.
		const now = () => 1_000_000;
		const a = new Lease(racing, {
			owner: 'a',
			ttlMs: 10_000,
			settleMs: 50,
			now,
			sleep: async () => new Promise((r) => setTimeout(r, 20)),
		});
		const b = new Lease(racing, {
			owner: 'b',
			ttlMs: 10_000,
			settleMs: 50,
			now,
			sleep: async () => new Promise((r) => setTimeout(r, 20)),
		});
		const results = await Promise.all([a.acquire(), b.acquire()]);
		expect(results.filter(Boolean)).toHaveLength(1);
		const holder = JSON.parse(store.value!).owner;
		expect(results[holder === 'a' ? 0 : 1]).toBe(true);
	});

	it('gives up when reading the lease took longer than half the settle time', async () => {
		const store = memoryStore();
		const c = clock();
		const slowStore: LeaseStore = { ...store, read: async () => (c.advance(60), store.value) };
		const a = new Lease(slowStore, {
			owner: 'a',
			ttlMs: 10_000,
			settleMs: 100,
			now: c.now,
			sleep: c.sleep,
		});
		expect(await a.acquire()).toBe(false);
		expect(store.value).toBeUndefined(); // it wrote nothing
	});

	it('releases only its own lease and ignores a torn lease object', async () => {
		const store = memoryStore();
		store.value = '{not json';
		// A fake clock: with the real one, a millisecond tick during the read would exceed half a tiny settle time.
		const c = clock();
		const a = new Lease(store, {
			owner: 'a',
			ttlMs: 1000,
			settleMs: 100,
			now: c.now,
			sleep: c.sleep,
		});
		expect(await a.acquire()).toBe(true);
		const b = new Lease(store, {
			owner: 'b',
			ttlMs: 1000,
			settleMs: 100,
			now: c.now,
			sleep: c.sleep,
		});
		await b.release();
		expect(JSON.parse(store.value!).owner).toBe('a');
		await a.release();
		expect(store.value).toBeUndefined();
	});
});
