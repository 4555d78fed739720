/**
 * The official `pipedrive` SDK (v33) drives every endpoint of the Pipedrive stand-in that the pack will
 * use, so that the stand-in answers as the real API does (paths, auth header, envelopes, pagination).
 * Rate limits and faults are checked with plain fetch: the SDK hides statuses and headers.
 */
import { v1, v2 } from 'pipedrive';

import { decide } from '../../lib/pipedrive/retry';
import { startPipedriveStandIn, type PipedriveStandIn } from '../../testbench/standins/pipedrive';

jest.setTimeout(60_000);

let pd: PipedriveStandIn;
let cfg2: v2.Configuration;
let cfg1: v1.Configuration;
beforeAll(async () => {
	pd = await startPipedriveStandIn({ burstLimit: 40 });
	cfg2 = new v2.Configuration({ apiKey: pd.token, basePath: `${pd.baseUrl}/api/v2` });
	cfg1 = new v1.Configuration({ apiKey: pd.token, basePath: `${pd.baseUrl}/v1` });
});
afterAll(async () => {
	await pd?.close();
});

it('persons: create, exact search by e-mail (case-insensitive), update', async () => {
	const persons = new v2.PersonsApi(cfg2);
	const created = await persons.addPerson({
		AddPersonRequest: {
			name: 'Ana Souza',
			emails: [{ value: 'Ana@Example.com', primary: true, label: 'work' }],
			phones: [{ value: '+5511987654321', primary: true, label: 'mobile' }],
		},
	});
	expect(created.success).toBe(true);
	const id = created.data!.id!;
	const found = await persons.searchPersons({
		term: 'ana@example.com',
		fields: 'email',
		exact_match: true,
	});
	expect(found.data?.items?.map((i) => i.item?.id)).toEqual([id]);
	expect(found.additional_data?.next_cursor).toBeNull();
	const updated = await persons.updatePerson({
		id,
		UpdatePersonRequest: { name: 'Ana Clara Souza' },
	});
	expect(updated.data?.name).toBe('Ana Clara Souza');
});

it('deals: create with custom fields, mark won, list with cursor pagination', async () => {
	const deals = new v2.DealsApi(cfg2);
	const ids: number[] = [];
	for (let i = 0; i < 3; i++)
		ids.push(
			(
				await deals.addDeal({
					AddDealRequest: {
						title: `Checkout ${i}`,
						value: 199.9,
						currency: 'BRL',
						stage_id: 1,
						custom_fields: { lead_id: `lead-${i}` },
					},
				})
			).data!.id!,
		);
	const won = await deals.updateDeal({ id: ids[0], UpdateDealRequest: { status: 'won' } });
	expect(won.data).toMatchObject({ status: 'won', custom_fields: { lead_id: 'lead-0' } });
	const first = await deals.getDeals({ limit: 2 });
	expect(first.data).toHaveLength(2);
	const rest = await deals.getDeals({ limit: 2, cursor: first.additional_data!.next_cursor! });
	expect(rest.data?.map((d) => d.id)).toEqual([ids[2]]);
	expect(rest.additional_data?.next_cursor).toBeNull();
	// a person's deals, most recently updated first (how a second submit finds its open checkout)
	const person = (
		await new v2.PersonsApi(cfg2).addPerson({
			AddPersonRequest: {
				name: 'Bia',
				emails: [{ value: 'bia@example.com', primary: true, label: 'work' }],
			},
		})
	).data!.id!;
	const older = (await deals.addDeal({ AddDealRequest: { title: 'Older', person_id: person } }))
		.data!.id!;
	const newer = (await deals.addDeal({ AddDealRequest: { title: 'Newer', person_id: person } }))
		.data!.id!;
	const own = await deals.getDeals({
		person_id: person,
		sort_by: 'update_time',
		sort_direction: 'desc',
		limit: 100,
	});
	expect(own.data?.map((d) => d.id)).toEqual([newer, older]);
	// a listing is ordered by id unless told otherwise; sort_direction=desc reverses it
	const all = (await deals.getDeals({ limit: 500 })).data!.map((d) => d.id!);
	expect(all.length).toBeGreaterThan(3);
	expect(all).toEqual([...all].sort((a, b) => a - b));
	expect(
		(await deals.getDeals({ sort_by: 'id', sort_direction: 'desc', limit: 500 })).data!.map(
			(d) => d.id!,
		),
	).toEqual([...all].reverse());
});

it('activities: person follows the primary participant; list by deal', async () => {
	const activities = new v2.ActivitiesApi(cfg2);
	const made = await activities.addActivity({
		AddActivityRequest: {
			subject: 'Call Ana',
			type: 'call',
			deal_id: 7,
			due_date: '2026-11-30',
			due_time: '13:00',
			participants: [{ person_id: 55, primary: true }],
		},
	});
	expect(made.data).toMatchObject({
		subject: 'Call Ana',
		person_id: 55,
		done: false,
		marked_as_done_time: null,
	});
	const list = await activities.getActivities({ deal_id: 7 });
	expect(list.data?.map((a) => a.subject)).toEqual(['Call Ana']);
});

it('pipelines, stages (v2); users/me, activity types, deal fields, notes (v1)', async () => {
	expect((await new v2.PipelinesApi(cfg2).getPipelines()).data?.[0]).toMatchObject({
		id: 1,
		name: 'Checkout',
	});
	expect(
		(await new v2.StagesApi(cfg2).getStages({ pipeline_id: 1 })).data?.map((s) => s.name),
	).toEqual(['Checkout started', 'Awaiting payment']);
	expect((await new v1.UsersApi(cfg1).getCurrentUser()).data).toMatchObject({
		id: 1,
		company_domain: 'standin',
	});
	expect(
		(await new v1.ActivityTypesApi(cfg1).getActivityTypes()).data?.map((t) => t.key_string),
	).toContain('call');
	const fields = new v1.DealFieldsApi(cfg1);
	const added = await fields.addDealField({
		CreateFieldRequest: {
			name: 'Checkout status',
			field_type: 'enum',
			options: [{ label: 'started' }, { label: 'paid' }],
		},
	});
	expect((await fields.getDealFields()).data?.map((f) => f.name)).toContain('Checkout status');
	expect(added.data?.key).toBeTruthy();
	expect(
		(
			await new v1.NotesApi(cfg1).addNote({
				AddNoteRequest: { content: '<p>Refunded</p>', deal_id: 1 },
			})
		).data,
	).toMatchObject({ content: '<p>Refunded</p>', deal_id: 1 });
});

it('v2 deal fields (create a single option field, list it with option ids), deal search by a custom field, users (v1), activity done', async () => {
	const fields = new v2.DealFieldsApi(cfg2);
	const added = await fields.addDealField({
		AddDealFieldRequest: {
			field_name: 'Checkout gateway (v2)',
			field_type: 'enum',
			options: [{ label: 'Stripe' }, { label: 'Asaas' }],
		},
	});
	expect(added.data).toMatchObject({
		field_name: 'Checkout gateway (v2)',
		field_type: 'enum',
		is_custom_field: true,
	});
	const key = added.data!.field_code!;
	expect(key).toMatch(/^[0-9a-f]{40}$/);
	const listed = (await fields.getDealFields({ limit: 500 })).data!.find(
		(f) => f.field_code === key,
	)!;
	expect(listed.options?.map((o) => [typeof o.id, o.label])).toEqual([
		['number', 'Stripe'],
		['number', 'Asaas'],
	]);
	// Options added to an existing field (how Setup brings an older status field up to date): additive, ids kept.
	const more = await fields.addDealFieldOptions({
		field_code: key,
		AddDealFieldOptionsRequestInner: [{ label: 'Mercado Pago' }],
	});
	expect(more.data?.map((o) => o.label)).toEqual(['Mercado Pago']);
	const relisted = (await fields.getDealFields({ limit: 500 })).data!.find(
		(f) => f.field_code === key,
	)!;
	expect(relisted.options?.map((o) => o.label)).toEqual(['Stripe', 'Asaas', 'Mercado Pago']);
	expect(relisted.options?.slice(0, 2).map((o) => o.id)).toEqual(listed.options?.map((o) => o.id));

	const deals = new v2.DealsApi(cfg2);
	const deal = (
		await deals.addDeal({
			AddDealRequest: { title: 'Search me', custom_fields: { [key]: 'lead-0194-abc' } },
		})
	).data!;
	const found = await deals.searchDeals({
		term: 'lead-0194-abc',
		fields: 'custom_fields',
		exact_match: true,
	});
	expect(found.data?.items?.map((i) => [i.item?.id, i.item?.type])).toEqual([[deal.id, 'deal']]);
	expect(
		(await deals.searchDeals({ term: 'lead-0194', fields: 'custom_fields', exact_match: true }))
			.data?.items,
	).toEqual([]);

	expect((await new v1.UsersApi(cfg1).getUsers()).data?.map((u) => u.name)).toContain(
		'Bruna Vendas',
	);
	const activities = new v2.ActivitiesApi(cfg2);
	const act = (
		await activities.addActivity({
			AddActivityRequest: { subject: 'Follow up', type: 'call', deal_id: deal.id },
		})
	).data!;
	expect(
		(await activities.updateActivity({ id: act.id!, AddActivityRequest: { done: true } })).data,
	).toMatchObject({ done: true });
	expect(
		(await activities.updateActivity({ id: act.id!, AddActivityRequest: { done: true } })).data
			?.marked_as_done_time,
	).toBeTruthy();
});

it('what the pack reads to find an effect whose answer was lost, and removes when two processes made it twice: activities by deal (newest first), delete; notes by deal (v1); deal fields with ids (v1), delete (v2)', async () => {
	const own = await startPipedriveStandIn();
	try {
		const c2 = new v2.Configuration({ apiKey: own.token, basePath: `${own.baseUrl}/api/v2` });
		const c1 = new v1.Configuration({ apiKey: own.token, basePath: `${own.baseUrl}/v1` });
		const fields = new v2.DealFieldsApi(c2);
		const key = (
			await fields.addDealField({
				AddDealFieldRequest: { field_name: 'Checkout lead id', field_type: 'varchar' },
			})
		).data!.field_code!;
		const deal = (await new v2.DealsApi(c2).addDeal({ AddDealRequest: { title: 'Effects' } }))
			.data!;
		const activities = new v2.ActivitiesApi(c2);
		const act = (
			await activities.addActivity({
				AddActivityRequest: { subject: 'First', type: 'call', deal_id: deal.id },
			})
		).data!;
		const second = (
			await activities.addActivity({
				AddActivityRequest: { subject: 'Second', type: 'call', deal_id: deal.id },
			})
		).data!;
		expect(
			(
				await activities.getActivities({ deal_id: deal.id, sort_by: 'id', sort_direction: 'desc' })
			).data?.map((a) => a.id),
		).toEqual([second.id, act.id]);
		expect((await activities.deleteActivity({ id: second.id! })).data).toMatchObject({
			id: second.id,
		});
		expect((await activities.getActivities({ deal_id: deal.id })).data?.map((a) => a.id)).toEqual([
			act.id,
		]);
		const notes = new v1.NotesApi(c1);
		await notes.addNote({ AddNoteRequest: { content: '<p>one</p>', deal_id: deal.id! } });
		await notes.addNote({ AddNoteRequest: { content: '<p>two</p>', deal_id: deal.id! } });
		expect(
			(
				await notes.getNotes({ deal_id: deal.id!, sort: 'id DESC', start: 0, limit: 100 })
			).data?.map((n) => n.content),
		).toEqual(['<p>two</p>', '<p>one</p>']);
		const v1Fields = (await new v1.DealFieldsApi(c1).getDealFields({ start: 0, limit: 500 })).data!;
		expect(v1Fields.find((f) => f.key === key)).toMatchObject({
			id: expect.any(Number),
			name: 'Checkout lead id',
		});
		expect((await fields.deleteDealField({ field_code: key })).data).toMatchObject({
			field_code: key,
		});
		expect(
			(await fields.getDealFields({ limit: 500 })).data!.map((f) => f.field_code),
		).not.toContain(key);
	} finally {
		await own.close();
	}
});

it('a read-only page shows the deals, activities and notes', async () => {
	const res = await fetch(`${pd.baseUrl}/__standin/`);
	expect(res.headers.get('content-type')).toMatch(/text\/html/);
	const html = await res.text();
	expect(html).toContain('Search me');
	expect(html).toContain('Follow up');
});

it('refuses a request without the token, and v2 refuses loose types, as Pipedrive does', async () => {
	await expect(
		new v2.PersonsApi(
			new v2.Configuration({ apiKey: 'wrong', basePath: `${pd.baseUrl}/api/v2` }),
		).addPerson({ AddPersonRequest: { name: 'X' } }),
	).rejects.toBeTruthy();
	const res = await fetch(`${pd.baseUrl}/api/v2/deals`, {
		method: 'POST',
		headers: { 'x-api-token': pd.token, 'content-type': 'application/json' },
		body: JSON.stringify({ title: 'T', value: '199.90' }),
	});
	expect(res.status).toBe(400);
	expect(await res.json()).toMatchObject({ success: false, error: 'value must be a number' });
	const noAuth = await fetch(`${pd.baseUrl}/v1/users/me`);
	expect([noAuth.status, await noAuth.json()]).toEqual([
		401,
		{ success: false, error: 'unauthorized access', errorCode: 401 },
	]);
});

it('sends rate-limit headers, answers 429 on a burst, and the retry policy reads them', async () => {
	const hit = () =>
		fetch(`${pd.baseUrl}/api/v2/pipelines`, { headers: { 'x-api-token': pd.token } });
	const first = await hit();
	expect(first.headers.get('x-ratelimit-limit')).toBe('40');
	expect(first.headers.get('x-token-cost')).toBe('10');
	const burst = await Promise.all(Array.from({ length: 60 }, hit));
	const limited = burst.find((r) => r.status === 429)!;
	expect(limited).toBeDefined();
	const decision = decide(
		{ status: 429, headers: Object.fromEntries(limited.headers), bodyText: await limited.text() },
		1,
		{ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5000, random: () => 0 },
	);
	expect(decision).toEqual({ action: 'retry', delayMs: 2000, reason: 'rate limited (429)' });
	await new Promise((r) => setTimeout(r, 2100));
});

it('switches on faults: a 500 then success, and the HTML block page that must not be retried', async () => {
	pd.faults.serverErrors = 1;
	const hit = () => fetch(`${pd.baseUrl}/v1/users/me`, { headers: { 'x-api-token': pd.token } });
	expect((await hit()).status).toBe(500);
	expect((await hit()).status).toBe(200);
	pd.faults.blockPage = true;
	const blocked = await hit();
	pd.faults.blockPage = false;
	expect(
		decide({ status: blocked.status, headers: {}, bodyText: await blocked.text() }, 1),
	).toMatchObject({ action: 'fail', retryable: false });
});
