/**
 * State every n8n process shares (lib/shared, lib/pipedrive/shared.ts) on the real S3 server with its
 * conditional writes, driven as several processes drive it: each "process" here has its own Pipedrive
 * client, its own lease owner and its own view of the store, and shares only the bucket, as a main and
 * its workers do. The Pipedrive stand-in's search lags 2 s behind its writes, as Pipedrive's index does.
 */
import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';

import { PipedriveClient, fetchTransport } from '../../lib/pipedrive/client';
import type { FollowUpRule } from '../../lib/checkout/rules';
import {
	applyEvent,
	clearCaches,
	runRules,
	setupFields,
	upsertLead,
	type LeadInput,
	type UpsertLeadOptions,
} from '../../lib/pipedrive/operations';
import { PipedriveShared } from '../../lib/pipedrive/shared';
import { effectMarker, hasMarker } from '../../lib/pipedrive/markers';
import { createS3Client } from '../../lib/s3/client';
import {
	ConditionalLease,
	holdRecord,
	LeaseBusyError,
	LeaseLostError,
	updateRecord,
	withRecord,
} from '../../lib/shared/record';
import { S3ConditionalStore, type ConditionalStore } from '../../lib/shared/store';
import { startS3Server, type S3Server } from '../../testbench/s3';
import { startPipedriveStandIn, type PipedriveStandIn } from '../../testbench/standins/pipedrive';

jest.setTimeout(120_000);

const SEARCH_LAG_MS = 2000;
let s3: S3Server;
let pd: PipedriveStandIn;
const clients: S3Client[] = [];
let bucketNo = 0;

beforeAll(async () => {
	s3 = await startS3Server();
	pd = await startPipedriveStandIn({ searchLagMs: SEARCH_LAG_MS });
});
afterAll(async () => {
	for (const c of clients) c.destroy();
	await pd?.close();
	await s3?.destroy();
});
beforeEach(() => {
	clearCaches();
	pd.faults.loseAnswers = {};
	pd.faults.delayMs = 0;
});

/** A fresh bucket: the store every "process" of one install shares. */
async function freshStore(): Promise<ConditionalStore> {
	const bucket = `shared-${++bucketNo}`;
	await s3.createBucket(bucket);
	const client = createS3Client(s3.settings(bucket));
	clients.push(client);
	return new S3ConditionalStore(client, bucket, 'checkout/shared/');
}

const policy = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 3000 };

/** One n8n process: its own client (so its own call count) and its own shared-state object on the store. */
function processOn(store: ConditionalStore, policyOverride = policy) {
	const shared = new PipedriveShared(store, pd.baseUrl, {
		leaseTtlMs: 3000,
		waitMs: 30_000,
		searchSettleMs: SEARCH_LAG_MS + 1000,
	});
	const client = new PipedriveClient(
		fetchTransport(pd.baseUrl, { apiToken: pd.token }),
		pd.baseUrl,
		policyOverride,
		async () => await shared.searchSlot(),
	);
	return { client, shared };
}

const options = (shared: PipedriveShared): UpsertLeadOptions => ({
	titleTemplate: '{{product}} – {{name}}',
	dealLookup: 'existingPersonsOnly',
	addNote: true,
	shared,
});

function lead(overrides: Partial<LeadInput> = {}): LeadInput {
	return {
		leadId: randomUUID(),
		name: 'Ana Souza',
		email: `ana.${randomUUID().slice(0, 8)}@example.com`,
		phone: '+5511987654321',
		product: 'Curso de Fotografia',
		amount: 19790,
		currency: 'BRL',
		capturedAt: '2026-11-27T12:00:00.000Z',
		...overrides,
	};
}

const personsWith = (email: string) =>
	pd.state.persons.filter((p) =>
		(p.emails as Array<{ value: string }>).some(
			(e) => e.value.toLowerCase() === email.toLowerCase(),
		),
	);
const fieldKey = (name: string) => pd.state.dealFields.find((f) => f.name === name)!.key as string;
const dealsOfLead = (leadId: string) =>
	pd.state.deals.filter(
		(d) =>
			d.status !== 'deleted' &&
			(d.custom_fields as Record<string, unknown>)[fieldKey('Checkout lead id')] === leadId,
	);
const searches = (c: PipedriveClient) =>
	[...c.calls.entries()].filter(([k]) => k.endsWith('/search')).reduce((n, [, v]) => n + v, 0);

describe('leases and records on S3 conditional writes', () => {
	it('two holders are never inside at once; a record saved by one is what the next reads', async () => {
		const store = await freshStore();
		let inside = 0;
		let maxInside = 0;
		const worker = async (owner: string) => {
			for (let i = 0; i < 5; i++)
				await withRecord<{ n: number }, void>(
					store,
					'counter',
					{ ttlMs: 5000, waitMs: 20_000, pollMs: 20, owner },
					async (held) => {
						inside++;
						maxInside = Math.max(maxInside, inside);
						await new Promise((r) => setTimeout(r, 10));
						await held.save({ n: (held.data?.n ?? 0) + 1 });
						inside--;
					},
				);
		};
		await Promise.all(['a', 'b', 'c', 'd'].map(worker));
		expect(maxInside).toBe(1);
		const last = await holdRecord<{ n: number }>(store, 'counter', { ttlMs: 1000, waitMs: 0 });
		expect(last.data).toEqual({ n: 20 });
		await last.release();
	});

	it('a held lease makes others wait, then give up (retryable); an expired one is taken over and its old holder finds out when it writes', async () => {
		const store = await freshStore();
		const first = await holdRecord<{ step: string }>(store, 'job', {
			ttlMs: 600,
			waitMs: 0,
			owner: 'crashed',
		});
		await first.save({ step: 'intent written' });
		const busy = await holdRecord(store, 'job', { ttlMs: 600, waitMs: 200, owner: 'other' }).then(
			() => undefined,
			(e: unknown) => e,
		);
		expect(busy).toBeInstanceOf(LeaseBusyError);
		expect((busy as LeaseBusyError & { failureKind: string }).failureKind).toBe('retryable');
		// The first holder stops renewing (a crash): its lease runs out and the next one takes over, reading
		// where the crashed holder stopped.
		await new Promise((r) => setTimeout(r, 700));
		const next = await holdRecord<{ step: string }>(store, 'job', {
			ttlMs: 5000,
			waitMs: 0,
			owner: 'next',
		});
		expect(next.data).toEqual({ step: 'intent written' });
		await expect(first.save({ step: 'too late' })).rejects.toBeInstanceOf(LeaseLostError);
		await next.release({ step: 'finished' });
		const after = await holdRecord<{ step: string }>(store, 'job', { ttlMs: 500, waitMs: 0 });
		expect(after.data).toEqual({ step: 'finished' });
		await after.release();
	});

	it("the relay's lease on conditional writes: one run holds it, an overlapping one is told busy, renewals keep it, a release frees it", async () => {
		const store = await freshStore();
		const one = new ConditionalLease(store, 'locks/relay.json', 2000);
		const two = new ConditionalLease(store, 'locks/relay.json', 2000);
		const [a, b] = await Promise.all([one.acquire(), two.acquire()]);
		expect([a, b].filter(Boolean)).toHaveLength(1);
		const [holder, other] = a ? [one, two] : [two, one];
		expect(await holder.renew()).toBe(true);
		expect(await other.acquire()).toBe(false);
		expect(await other.renew()).toBe(false);
		await holder.release();
		expect(await other.acquire()).toBe(true);
		await other.release();
	});

	it('a counter updated by compare-and-swap from many writers at once counts every update', async () => {
		const store = await freshStore();
		await Promise.all(
			Array.from({ length: 12 }, () =>
				updateRecord<{ n: number }>(store, 'rr', (c) => ({ n: (c?.n ?? 0) + 1 })),
			),
		);
		expect(await updateRecord<{ n: number }>(store, 'rr', () => undefined)).toEqual({ n: 12 });
	});
});

describe('Pipedrive operations of several processes on one install', () => {
	it('the stand-in search lags behind writes: a person just made is not found for a while', async () => {
		const { client } = processOn(await freshStore());
		const email = `lag.${randomUUID().slice(0, 8)}@example.com`;
		await client.createPerson({ name: 'Lag', emails: [{ value: email, primary: true }] });
		expect(await client.findPersonByEmail(email)).toBeUndefined();
		await new Promise((r) => setTimeout(r, SEARCH_LAG_MS + 100));
		expect((await client.findPersonByEmail(email))?.id).toEqual(expect.any(Number));
	});

	it('one lead upserted at once by two processes (a redelivery after the main restarted): one person, one deal, one note', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const input = lead();
		const [ra, rb] = await Promise.all([
			upsertLead(a.client, pd.baseUrl, input, options(a.shared)),
			upsertLead(b.client, pd.baseUrl, input, options(b.shared)),
		]);
		expect(personsWith(input.email)).toHaveLength(1);
		expect(dealsOfLead(input.leadId)).toHaveLength(1);
		expect(rb.dealId).toBe(ra.dealId);
		expect(pd.state.notes.filter((n) => n.deal_id === ra.dealId)).toHaveLength(1);
	});

	it('without shared state the same race makes two persons (the search lags): the scenario above is real', async () => {
		const a = processOn(await freshStore());
		const b = processOn(await freshStore()); // each process its own state: what process memory gives
		await setupFields(a.client, pd.baseUrl, a.shared);
		const input = lead();
		await Promise.all([
			upsertLead(a.client, pd.baseUrl, input, options(a.shared)),
			upsertLead(b.client, pd.baseUrl, input, options(b.shared)),
		]);
		expect(personsWith(input.email).length).toBeGreaterThan(1);
	});

	it('two leads of one buyer in two partitions at once, and a third lead a second later: one person', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const email = `buyer.${randomUUID().slice(0, 8)}@example.com`;
		await Promise.all([
			upsertLead(a.client, pd.baseUrl, lead({ email }), options(a.shared)),
			upsertLead(b.client, pd.baseUrl, lead({ email, product: 'Mentoria' }), options(b.shared)),
		]);
		await upsertLead(b.client, pd.baseUrl, lead({ email, product: 'Outro' }), options(b.shared));
		expect(personsWith(email)).toHaveLength(1);
	});

	it('the second event of a lead searches nothing on another worker: the lead → deal map is shared', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		await setupFields(b.client, pd.baseUrl, b.shared);
		const input = lead();
		const { dealId } = await upsertLead(a.client, pd.baseUrl, input, options(a.shared));
		const before = searches(b.client);
		const applied = await applyEvent(
			b.client,
			pd.baseUrl,
			{
				eventId: `evt-${randomUUID()}`,
				type: 'pending',
				occurredAt: '2026-11-27T12:01:00Z',
				leadRef: input.leadId,
			},
			{ shared: b.shared },
		);
		expect(applied.dealId).toBe(dealId);
		expect(searches(b.client) - before).toBe(0);
	});

	it('a payment for a lead without a deal applied at once by two processes: one deal, and its refund note once', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const leadRef = randomUUID();
		const paid = {
			eventId: `paid-${leadRef}`,
			type: 'paid' as const,
			occurredAt: '2026-11-27T12:05:00Z',
			leadRef,
			amount: 19790,
			currency: 'BRL',
		};
		await Promise.all([
			applyEvent(a.client, pd.baseUrl, paid, { shared: a.shared }),
			applyEvent(b.client, pd.baseUrl, paid, { shared: b.shared }),
		]);
		expect(dealsOfLead(leadRef)).toHaveLength(1);
		const refund = {
			...paid,
			eventId: `refund-${leadRef}`,
			type: 'refunded' as const,
			occurredAt: '2026-11-27T13:00:00Z',
		};
		await Promise.all([
			applyEvent(a.client, pd.baseUrl, refund, { shared: a.shared }),
			applyEvent(b.client, pd.baseUrl, refund, { shared: b.shared }),
		]);
		const dealId = dealsOfLead(leadRef)[0].id;
		expect(pd.state.notes.filter((n) => n.deal_id === dealId)).toHaveLength(1);
	});

	it('a person create whose process died before recording it: the next run waits out the search lag and finds it, making no second person', async () => {
		const store = await freshStore();
		// The first process gets no answer to its create (Pipedrive made the person) and gives up at once.
		const dying = processOn(store, { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 });
		const next = processOn(store);
		await setupFields(next.client, pd.baseUrl, next.shared);
		const input = lead();
		pd.faults.loseAnswers = { 'POST /api/v2/persons': 1 };
		await expect(
			upsertLead(dying.client, pd.baseUrl, input, options(dying.shared)),
		).rejects.toThrow();
		expect(personsWith(input.email)).toHaveLength(1);
		const result = await upsertLead(next.client, pd.baseUrl, input, options(next.shared));
		expect(personsWith(input.email)).toHaveLength(1);
		expect(result).toMatchObject({
			personId: personsWith(input.email)[0].id,
			personCreated: false,
		});
		expect(dealsOfLead(input.leadId)).toHaveLength(1);
	});

	it('the search budget is shared: two processes searching at once stay under 10 searches per 2 s', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		pd.faults.delayMs = 0;
		const look = (c: PipedriveClient) =>
			Promise.all(
				Array.from({ length: 12 }, (_, i) => c.findPersonByEmail(`nobody.${i}@example.com`)),
			);
		const started = Date.now();
		await Promise.all([look(a.client), look(b.client)]);
		// 24 searches at 10 per 2 s take at least two more windows. A refused search (429) is retried and
		// shows as a call more than the 24: a budget per process would send 20 in the first window and see
		// about 10 refused, the shared one at most a couple (a search the loaded machine held back past the
		// slot's margin, which Pipedrive then counts in its next window).
		expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 2000 - 300);
		const sent = searches(a.client) + searches(b.client);
		expect(sent).toBeGreaterThanOrEqual(24);
		expect(sent - 24).toBeLessThanOrEqual(3);
	});
});

describe('follow-up rules on several workers', () => {
	const rule = (
		name: string,
		owner: FollowUpRule['owner'] = { kind: 'dealOwner' },
	): FollowUpRule => ({
		name,
		when: 'abandoned',
		afterMinutes: 60,
		activityType: 'call',
		subject: 'Ligar para {{name}}',
		note: 'Follow-up',
		dueInDays: 0,
		dueTime: '10:00',
		owner,
	});

	it('two runs at once on two workers: one waits for the other, each activity is made once, round robin goes on across them', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const deals: number[] = [];
		for (let i = 0; i < 4; i++)
			deals.push(
				(
					await upsertLead(
						a.client,
						pd.baseUrl,
						lead({ capturedAt: '2026-12-01T06:00:00Z' }),
						options(a.shared),
					)
				).dealId,
			);
		const rules = [
			rule(`Shared ${randomUUID().slice(0, 6)}`, { kind: 'roundRobin', userIds: [1, 2, 3] }),
		];
		const now = new Date('2026-12-01T12:00:00Z');
		pd.faults.delayMs = 5;
		const [ra, rb] = await Promise.all([
			runRules(a.client, pd.baseUrl, rules, { now, shared: a.shared }),
			runRules(b.client, pd.baseUrl, rules, { now, shared: b.shared }),
		]);
		for (const dealId of deals) {
			const made = pd.state.activities.filter(
				(x) =>
					x.deal_id === dealId &&
					x.is_deleted !== true &&
					hasMarker(x.note, effectMarker('follow-up', dealId, rules[0].name)),
			);
			expect(made).toHaveLength(1);
		}
		// One run made them all (the other found them made), and the counter moved once per activity.
		const created = ra.created.length + rb.created.length;
		expect(created).toBeGreaterThanOrEqual(deals.length);
		const again = await runRules(b.client, pd.baseUrl, rules, {
			now,
			shared: b.shared,
			dryRun: true,
		});
		expect(again.nextRoundRobin).toBe(created);
	});

	it('a run lists only the open deals a rule could fire on (updated since the last run minus the longest delay); a change of rules lists all again', async () => {
		const store = await freshStore();
		const a = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const old = await upsertLead(a.client, pd.baseUrl, lead(), options(a.shared));
		const rules = [rule(`Listing ${randomUUID().slice(0, 6)}`)];
		const now = new Date();
		const first = await runRules(a.client, pd.baseUrl, rules, { now, shared: a.shared });
		expect(first.listedSince).toBeUndefined(); // the first run lists every open deal
		expect(first.created.map((c) => c.dealId)).toContain(old.dealId);
		// That deal's rule fired; say weeks ago, when Pipedrive last updated it.
		const stale = pd.state.deals.find((d) => d.id === old.dealId)!;
		stale.update_time = '2026-11-01T10:00:00Z';
		await upsertLead(a.client, pd.baseUrl, lead(), options(a.shared));
		const second = await runRules(a.client, pd.baseUrl, rules, { now, shared: a.shared });
		expect(Date.parse(second.listedSince!)).toBeGreaterThan(Date.parse('2026-11-01T10:00:00Z'));
		const openDeals = pd.state.deals.filter((d) => d.status === 'open').length;
		expect(second.dealsChecked).toBeLessThan(openDeals);
		expect(second.created).toHaveLength(1); // the new lead's deal, listed because it is new
		// Other rules: everything is listed again.
		const third = await runRules(
			a.client,
			pd.baseUrl,
			[rule(`Other ${randomUUID().slice(0, 6)}`)],
			{
				now,
				shared: a.shared,
			},
		);
		expect(third.listedSince).toBeUndefined();
	});

	it('a run that died between marking a deal and recording its activity is finished by the next run on another worker', async () => {
		const store = await freshStore();
		const a = processOn(store);
		const b = processOn(store);
		await setupFields(a.client, pd.baseUrl, a.shared);
		const { dealId } = await upsertLead(
			a.client,
			pd.baseUrl,
			lead({ capturedAt: '2026-12-02T06:00:00Z' }),
			options(a.shared),
		);
		const name = `Interrupted ${randomUUID().slice(0, 6)}`;
		const marker = effectMarker('follow-up', dealId, name);
		// What the dead run left: the rule marked on the deal, two activities carrying its marker (its own and
		// one from an ambiguous create), and no activity id on the deal.
		await a.client.updateDeal(dealId, {
			custom_fields: { [fieldKey('Checkout follow-ups applied')]: name },
		});
		for (let i = 0; i < 2; i++)
			await a.client.createActivity({
				subject: 'Ligar',
				type: 'call',
				deal_id: dealId,
				note: `<p>x</p><p><small>ref ${marker}</small></p>`,
			});
		await runRules(b.client, pd.baseUrl, [rule(name)], {
			now: new Date('2026-12-02T12:00:00Z'),
			shared: b.shared,
		});
		const live = pd.state.activities.filter(
			(x) => x.deal_id === dealId && x.is_deleted !== true && hasMarker(x.note, marker),
		);
		expect(live).toHaveLength(1);
		expect(
			(pd.state.deals.find((d) => d.id === dealId)!.custom_fields as Record<string, unknown>)[
				fieldKey('Checkout follow-ups applied')
			],
		).toBe(`${name}#${live[0].id}`);
	});
});
