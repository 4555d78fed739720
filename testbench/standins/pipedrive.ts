/**
 * A local stand-in for the Pipedrive API subset the pack uses (Pipedrive cannot be reached from here),
 * following its published contract: v2 under /api/v2 (cursor pagination, `next_cursor: null` on the last
 * page, strict types), v1 under /v1 and /api/v1 (notes, users/me, activity types, deal fields), the
 * `{success, data, additional_data}` envelopes, 401 without a token, rate-limit headers with token costs,
 * 429 on bursts, and switches for faults. The official `pipedrive` SDK drives it in
 * test/integration/pipedrive-contract.test.ts so it cannot drift into fiction.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { escapeHtml } from '../../lib/html/escape';
import { readBody } from './http';

export interface PipedriveFaults {
	/** Answer every request 429 (a 429 storm). */
	rateLimitStorm?: boolean;
	/** Answer the next N requests 500. */
	serverErrors?: number;
	/** Answer Cloudflare's HTML 403 block page. */
	blockPage?: boolean;
	/** Answer 401 to every request, as for a revoked API token. */
	unauthorized?: boolean;
	/**
	 * Faults at random (for the fault matrix): a write's answer lost after the work, a 500, a connection
	 * dropped before the work; `random` makes a run repeatable.
	 */
	randomly?: {
		loseAnswerRate: number;
		serverErrorRate: number;
		dropRate: number;
		random: () => number;
	};
	/** What the random faults did, by kind. */
	injected?: Record<string, number>;
	/** Answer 400 to the next N requests of an endpoint ("POST /api/v2/deals"): a failure no retry of the request fixes. */
	badRequests?: Record<string, number>;
	/** Delay every answer. */
	delayMs?: number;
	/** Close the connection of the next N requests without answering (a reset as the client sees it). */
	dropConnections?: number;
	/**
	 * Do the work of the next N requests to an endpoint ("POST /api/v2/persons"), then close the connection
	 * instead of answering: the ambiguous failure, where the effect happened and the answer was lost.
	 */
	loseAnswers?: Record<string, number>;
}

export interface PipedriveStandIn {
	baseUrl: string;
	token: string;
	faults: PipedriveFaults;
	/** The OAuth app this stand-in knows, and how many token refreshes it answered. */
	oauth: { clientId: string; clientSecret: string; refreshToken: string; refreshes: number };
	/** Requests per endpoint ("POST /api/v2/persons"), for counting API calls per lead and per event. */
	calls: Map<string, number>;
	state: { persons: Row[]; deals: Row[]; activities: Row[]; notes: Row[]; dealFields: Row[] };
	/**
	 * How far the person and deal search lags behind writes, as Pipedrive's search index does (it is not
	 * read-after-write): a person or deal created or changed is found by search, as it now is, only this
	 * long after; until then the search answers from what it was before (or not at all). 0: at once.
	 * Lists and reads by id are consistent at once, as on Pipedrive. Can be changed while running.
	 */
	searchLagMs: number;
	close(): Promise<void>;
}

type Row = Record<string, unknown> & { id: number };

const COST: Record<string, number> = {
	get: 1,
	list: 10,
	create: 5,
	update: 5,
	search: 20,
	v1get: 2,
	v1list: 20,
	v1create: 10,
};

function rfc3339(): string {
	return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function startPipedriveStandIn(
	options: {
		token?: string;
		burstLimit?: number;
		dailyTokens?: number;
		port?: number;
		/** See PipedriveStandIn.searchLagMs. */
		searchLagMs?: number;
	} = {},
): Promise<PipedriveStandIn> {
	const token = options.token ?? 'pd-standin-token';
	const burstLimit = options.burstLimit ?? 80;
	let dailyLeft = options.dailyTokens ?? 1_000_000;
	const faults: PipedriveFaults = {};
	const oauth = {
		clientId: 'standin-client',
		clientSecret: 'standin-secret',
		refreshToken: 'standin-refresh-token',
		refreshes: 0,
	};
	const calls = new Map<string, number>();
	const state = {
		persons: [] as Row[],
		deals: [] as Row[],
		activities: [] as Row[],
		notes: [] as Row[],
		dealFields: [
			{
				id: 1,
				key: 'title',
				name: 'Title',
				field_type: 'varchar',
				edit_flag: false,
				options: null,
			},
			{
				id: 2,
				key: 'value',
				name: 'Value',
				field_type: 'monetary',
				edit_flag: false,
				options: null,
			},
		] as Row[],
	};
	const pipelines: Row[] = [
		{
			id: 1,
			name: 'Checkout',
			order_nr: 1,
			is_deleted: false,
			is_deal_probability_enabled: false,
			add_time: rfc3339(),
			update_time: rfc3339(),
		},
	];
	const stages: Row[] = [
		{
			id: 1,
			pipeline_id: 1,
			name: 'Checkout started',
			order_nr: 1,
			is_deleted: false,
			deal_probability: 100,
			is_deal_rot_enabled: false,
			days_to_rotten: null,
			add_time: rfc3339(),
			update_time: rfc3339(),
		},
		{
			id: 2,
			pipeline_id: 1,
			name: 'Awaiting payment',
			order_nr: 2,
			is_deleted: false,
			deal_probability: 100,
			is_deal_rot_enabled: false,
			days_to_rotten: null,
			add_time: rfc3339(),
			update_time: rfc3339(),
		},
	];
	const users: Row[] = [
		{
			id: 1,
			name: 'Stand-in Owner',
			email: 'owner@example.com',
			active_flag: true,
			is_admin: 1,
			timezone_name: 'America/Sao_Paulo',
		},
		{
			id: 2,
			name: 'Bruna Vendas',
			email: 'bruna@example.com',
			active_flag: true,
			is_admin: 0,
			timezone_name: 'America/Sao_Paulo',
		},
		{
			id: 3,
			name: 'Carlos Vendas',
			email: 'carlos@example.com',
			active_flag: true,
			is_admin: 0,
			timezone_name: 'America/Sao_Paulo',
		},
	];
	let nextId = 100;
	const lag = { ms: options.searchLagMs ?? 0 };
	/** What the search index holds of each person and deal: its versions, each searchable from its time on. */
	const searchIndex = {
		persons: new Map<number, Array<{ at: number; row: Row }>>(),
		deals: new Map<number, Array<{ at: number; row: Row }>>(),
	};
	const indexRow = (table: 'persons' | 'deals', row: Row) => {
		const versions = searchIndex[table].get(row.id) ?? [];
		versions.push({ at: Date.now() + lag.ms, row: structuredClone(row) });
		searchIndex[table].set(row.id, versions);
	};
	/**
	 * The rows as the search sees them now: each row's newest version whose time has come. Without a lag,
	 * the rows themselves (also those a test changed in place).
	 */
	const searchable = (table: 'persons' | 'deals'): Row[] => {
		if (lag.ms <= 0) return state[table];
		const now = Date.now();
		const rows: Row[] = [];
		for (const versions of searchIndex[table].values()) {
			const seen = versions.filter((v) => v.at <= now);
			if (seen.length) rows.push(seen[seen.length - 1].row);
		}
		return rows;
	};
	const window: number[] = [];
	/** The search API's own limit: 10 requests per 2 s on every plan. */
	const searchWindow: number[] = [];
	const SEARCH_LIMIT = 10;

	const send = (res: ServerResponse, status: number, body: unknown, cost: number) => {
		const now = Date.now();
		while (window.length && now - window[0] > 2000) window.shift();
		res.setHeader('x-ratelimit-limit', String(burstLimit));
		res.setHeader('x-ratelimit-remaining', String(Math.max(0, burstLimit - window.length)));
		res.setHeader('x-ratelimit-reset', '2');
		res.setHeader('x-token-cost', String(cost));
		res.setHeader('x-daily-ratelimit-token-remaining', String(dailyLeft));
		res.writeHead(status, { 'content-type': 'application/json' });
		res.end(JSON.stringify(body));
	};
	const fail = (res: ServerResponse, status: number, error: string) =>
		send(
			res,
			status,
			{
				success: false,
				error,
				error_info: 'Please check developers.pipedrive.com',
				data: null,
				additional_data: null,
			},
			0,
		);

	const page = (rows: Row[], url: URL) => {
		const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 500);
		const start = url.searchParams.get('cursor')
			? Number(Buffer.from(url.searchParams.get('cursor')!, 'base64url').toString())
			: 0;
		const slice = rows.slice(start, start + limit);
		const next =
			start + limit < rows.length ? Buffer.from(String(start + limit)).toString('base64url') : null;
		return { success: true, data: slice, additional_data: { next_cursor: next } };
	};

	/** v2 list order: sort_by id | update_time | add_time, sort_direction asc (the default) | desc. */
	const sorted = (rows: Row[], url: URL): Row[] => {
		const by = url.searchParams.get('sort_by') ?? 'id';
		const sign = url.searchParams.get('sort_direction') === 'desc' ? -1 : 1;
		// ties (the same second) fall back to the id, as rows created later have higher ids
		const compare = (x: unknown, y: unknown) =>
			typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
		return [...rows].sort((a, b) => sign * (compare(a[by], b[by]) || Number(a.id) - Number(b.id)));
	};

	/** v2 is strict: a boolean must be a boolean and a number a number. */
	const strict = (
		body: Record<string, unknown>,
		numbers: string[],
		booleans: string[],
	): string | undefined => {
		for (const k of numbers)
			if (k in body && body[k] !== null && typeof body[k] !== 'number')
				return `${k} must be a number`;
		for (const k of booleans)
			if (k in body && typeof body[k] !== 'boolean') return `${k} must be a boolean`;
		return undefined;
	};

	/**
	 * The search endpoints' `term` and `exact_match`: a test of one value (case-insensitive, whole or part),
	 * or the 400 message for a term too short without exact matching.
	 */
	const searchMatcher = (url: URL): ((value: unknown) => boolean) | string => {
		const term = (url.searchParams.get('term') ?? '').trim().toLowerCase();
		const exact = url.searchParams.get('exact_match') === 'true';
		if (term.length < 2 && !exact) return 'term must be at least 2 characters long';
		return (value) =>
			typeof value === 'string' &&
			(exact ? value.toLowerCase() === term : value.toLowerCase().includes(term));
	};

	async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
		const text = await readBody(req);
		return text ? (JSON.parse(text) as Record<string, unknown>) : {};
	}

	async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://x');
		const method = req.method ?? 'GET';
		const path = url.pathname.replace(/^\/api\/v1\//, '/v1/');
		calls.set(
			`${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`,
			(calls.get(`${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`) ?? 0) + 1,
		);

		if (path === '/__standin/state') return send(res, 200, state, 0);
		if (path === '/__standin' || path === '/__standin/') {
			res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
			return void res.end(statePage());
		}
		if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
		const endpoint = `${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
		const chance = faults.randomly;
		const injected = (kind: string) => {
			faults.injected ??= {};
			faults.injected[kind] = (faults.injected[kind] ?? 0) + 1;
		};
		if (chance && !path.startsWith('/oauth')) {
			if (chance.random() < chance.dropRate) {
				injected('dropped');
				return void req.socket.destroy();
			}
			if (chance.random() < chance.serverErrorRate) {
				injected('500');
				return fail(res, 500, 'Internal server error (a fault of the stand-in)');
			}
			if (method !== 'GET' && chance.random() < chance.loseAnswerRate) {
				injected(`lost answer ${method}`);
				res.writeHead = (() => res) as unknown as typeof res.writeHead;
				res.end = (() => {
					req.socket.destroy();
					return res;
				}) as unknown as typeof res.end;
			}
		}
		if (faults.badRequests?.[endpoint]) {
			faults.badRequests[endpoint]--;
			return fail(res, 400, 'Bad request (a fault of the stand-in)');
		}
		if (faults.loseAnswers?.[endpoint]) {
			faults.loseAnswers[endpoint]--;
			// The route runs to the end (the effect happens); what it writes never reaches the client.
			res.writeHead = (() => res) as unknown as typeof res.writeHead;
			res.end = (() => {
				req.socket.destroy();
				return res;
			}) as unknown as typeof res.end;
		}
		if (faults.dropConnections && faults.dropConnections > 0) {
			faults.dropConnections--;
			return void req.socket.destroy();
		}
		if (faults.blockPage) {
			res.writeHead(403, { 'content-type': 'text/html' });
			return void res.end(
				'<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head><body>Sorry, you have been blocked</body></html>',
			);
		}
		// OAuth 2 refresh (https://oauth.pipedrive.com/oauth/token in production): the client id and secret as
		// HTTP Basic, a form body; answers with the access token this stand-in accepts and the api_domain.
		if (method === 'POST' && path === '/oauth/token') {
			const form = new URLSearchParams(await readBody(req));
			const basic = Buffer.from(
				(req.headers.authorization ?? '').replace(/^Basic /, ''),
				'base64',
			).toString();
			if (basic !== `${oauth.clientId}:${oauth.clientSecret}`)
				return send(res, 401, { success: false, error: 'invalid client' }, 0);
			if (
				form.get('grant_type') !== 'refresh_token' ||
				form.get('refresh_token') !== oauth.refreshToken
			)
				return send(res, 400, { success: false, error: 'invalid_grant' }, 0);
			oauth.refreshes++;
			return send(
				res,
				200,
				{
					access_token: token,
					token_type: 'Bearer',
					expires_in: 3599,
					refresh_token: oauth.refreshToken,
					scope: 'base deals:full contacts:full',
					api_domain: `http://127.0.0.1:${port}`,
				},
				0,
			);
		}
		const auth =
			req.headers['x-api-token'] ??
			(req.headers.authorization?.startsWith('Bearer ')
				? req.headers.authorization.slice(7)
				: undefined) ??
			url.searchParams.get('api_token');
		if (auth !== token || faults.unauthorized)
			return send(res, 401, { success: false, error: 'unauthorized access', errorCode: 401 }, 0);
		window.push(Date.now());
		while (window.length && Date.now() - window[0] > 2000) window.shift();
		if (faults.rateLimitStorm || window.length > burstLimit || dailyLeft <= 0)
			return send(res, 429, { success: false, error: 'Rate limit exceeded', errorCode: 429 }, 0);
		if (path.endsWith('/search')) {
			searchWindow.push(Date.now());
			while (searchWindow.length && Date.now() - searchWindow[0] > 2000) searchWindow.shift();
			if (searchWindow.length > SEARCH_LIMIT)
				return send(
					res,
					429,
					{ success: false, error: 'Search rate limit exceeded', errorCode: 429 },
					0,
				);
		}
		if (faults.serverErrors && faults.serverErrors > 0) {
			faults.serverErrors--;
			return fail(res, 500, 'Internal server error');
		}
		const charge = (kind: keyof typeof COST) => {
			dailyLeft -= COST[kind];
			return COST[kind];
		};
		let m: RegExpExecArray | null;

		// ---- v2 persons ----
		if (method === 'GET' && path === '/api/v2/persons/search') {
			const hit = searchMatcher(url);
			if (typeof hit === 'string') return fail(res, 400, hit);
			const items = searchable('persons')
				.filter((p) => ((p.emails as Array<{ value: string }>) ?? []).some((e) => hit(e.value)))
				.map((p) => ({
					result_score: 1,
					item: {
						id: p.id,
						type: 'person',
						name: p.name,
						emails: (p.emails as Array<{ value: string }>).map((e) => e.value),
						phones: ((p.phones as Array<{ value: string }>) ?? []).map((x) => x.value),
						visible_to: 3,
						owner: { id: p.owner_id },
						organization: null,
						custom_fields: [],
						notes: [],
						update_time: p.update_time,
					},
				}));
			return send(
				res,
				200,
				{ success: true, data: { items }, additional_data: { next_cursor: null } },
				charge('search'),
			);
		}
		if (method === 'POST' && path === '/api/v2/persons') {
			const body = await readJson(req);
			if (!body.name) return fail(res, 400, 'name is required');
			const bad = strict(body, ['owner_id', 'org_id'], []);
			if (bad) return fail(res, 400, bad);
			const row: Row = {
				id: nextId++,
				name: body.name,
				emails: body.emails ?? [],
				phones: body.phones ?? [],
				owner_id: body.owner_id ?? 1,
				add_time: rfc3339(),
				update_time: rfc3339(),
				custom_fields: body.custom_fields ?? {},
			};
			state.persons.push(row);
			indexRow('persons', row);
			return send(res, 200, { success: true, data: row }, charge('create'));
		}
		if ((m = /^\/api\/v2\/(persons|deals|activities)\/(\d+)$/.exec(path))) {
			const table = state[m[1] as 'persons' | 'deals' | 'activities'];
			const row = table.find((r) => r.id === Number(m![2]));
			if (!row) return fail(res, 404, `${m[1].slice(0, -1)} not found`);
			if (method === 'GET') return send(res, 200, { success: true, data: row }, charge('get'));
			if (method === 'PATCH') {
				const body = await readJson(req);
				const bad = strict(
					body,
					['value', 'stage_id', 'pipeline_id', 'owner_id', 'person_id'],
					['done', 'busy'],
				);
				if (bad) return fail(res, 400, bad);
				const custom = {
					...((row.custom_fields as object) ?? {}),
					...((body.custom_fields as object) ?? {}),
				};
				Object.assign(row, body, { custom_fields: custom, update_time: rfc3339() });
				if (m[1] === 'persons' || m[1] === 'deals') indexRow(m[1], row);
				if (m[1] === 'activities') row.marked_as_done_time = row.done ? rfc3339() : null;
				if (m[1] === 'deals' && body.status === 'won') row.won_time = rfc3339();
				return send(res, 200, { success: true, data: row }, charge('update'));
			}
		}
		// ---- v2 deals ----
		if (method === 'POST' && path === '/api/v2/deals') {
			const body = await readJson(req);
			if (!body.title) return fail(res, 400, 'title is required');
			if (body.status !== undefined && !['open', 'won', 'lost'].includes(String(body.status)))
				return fail(res, 400, 'status must be one of open, won, lost');
			const bad = strict(body, ['value', 'stage_id', 'pipeline_id', 'owner_id', 'person_id'], []);
			if (bad) return fail(res, 400, bad);
			const row: Row = {
				id: nextId++,
				title: body.title,
				value: body.value ?? 0,
				currency: body.currency ?? 'BRL',
				person_id: body.person_id ?? null,
				stage_id: body.stage_id ?? 1,
				pipeline_id: body.pipeline_id ?? 1,
				owner_id: body.owner_id ?? 1,
				status: body.status ?? 'open',
				add_time: rfc3339(),
				update_time: rfc3339(),
				won_time: body.status === 'won' ? rfc3339() : null,
				custom_fields: body.custom_fields ?? {},
			};
			state.deals.push(row);
			indexRow('deals', row);
			return send(res, 200, { success: true, data: row }, charge('create'));
		}
		if (method === 'GET' && path === '/api/v2/deals/search') {
			const hit = searchMatcher(url);
			if (typeof hit === 'string') return fail(res, 400, hit);
			const within = (url.searchParams.get('fields') ?? 'custom_fields,notes,title').split(',');
			const status = url.searchParams.get('status');
			const items = searchable('deals')
				.filter((d) => d.status !== 'deleted' && (!status || d.status === status))
				.filter(
					(d) =>
						(within.includes('title') && hit(d.title)) ||
						(within.includes('custom_fields') &&
							Object.values((d.custom_fields as object) ?? {}).some(hit)),
				)
				.map((d) => {
					const stage = stages.find((s) => s.id === d.stage_id);
					const person = state.persons.find((p) => p.id === d.person_id);
					return {
						result_score: 1,
						item: {
							id: d.id,
							type: 'deal',
							title: d.title,
							value: d.value,
							currency: d.currency,
							status: d.status,
							visible_to: 3,
							owner: { id: d.owner_id },
							stage: stage ? { id: stage.id, name: stage.name } : null,
							person: person ? { id: person.id, name: person.name } : null,
							organization: null,
							custom_fields: Object.values((d.custom_fields as object) ?? {}).filter(
								(v) => typeof v === 'string' && v !== '',
							),
							notes: [],
							is_archived: false,
						},
					};
				});
			return send(
				res,
				200,
				{ success: true, data: { items }, additional_data: { next_cursor: null } },
				charge('search'),
			);
		}
		if (method === 'GET' && path === '/api/v2/deals') {
			const statuses = (url.searchParams.get('status') ?? 'open,won,lost').split(',');
			const pipelineId = url.searchParams.get('pipeline_id');
			const personId = url.searchParams.get('person_id');
			// updated_since / updated_until: RFC 3339, compared as instants, the first inclusive, the second not.
			const since = Date.parse(url.searchParams.get('updated_since') ?? '');
			const until = Date.parse(url.searchParams.get('updated_until') ?? '');
			const rows = state.deals.filter(
				(d) =>
					statuses.includes(String(d.status)) &&
					(!pipelineId || d.pipeline_id === Number(pipelineId)) &&
					(!personId || d.person_id === Number(personId)) &&
					(Number.isNaN(since) || Date.parse(String(d.update_time)) >= since) &&
					(Number.isNaN(until) || Date.parse(String(d.update_time)) < until),
			);
			return send(res, 200, page(sorted(rows, url), url), charge('list'));
		}
		// ---- v2 activities ----
		if (method === 'POST' && path === '/api/v2/activities') {
			const body = await readJson(req);
			const bad = strict(body, ['deal_id', 'owner_id', 'person_id'], ['done', 'busy']);
			if (bad) return fail(res, 400, bad);
			const primary = (
				body.participants as Array<{ person_id: number; primary: boolean }> | undefined
			)?.find((p) => p.primary);
			const row: Row = {
				id: nextId++,
				subject: body.subject ?? '',
				type: body.type ?? 'task',
				owner_id: body.owner_id ?? 1,
				deal_id: body.deal_id ?? null,
				person_id: primary?.person_id ?? body.person_id ?? null,
				due_date: body.due_date ?? null,
				due_time: body.due_time ?? null,
				done: body.done ?? false,
				marked_as_done_time: body.done ? rfc3339() : null,
				note: body.note ?? null,
				participants: body.participants ?? [],
				add_time: rfc3339(),
				update_time: rfc3339(),
				is_deleted: false,
			};
			state.activities.push(row);
			return send(res, 200, { success: true, data: row }, charge('create'));
		}
		if (method === 'GET' && path === '/api/v2/activities') {
			const dealId = url.searchParams.get('deal_id');
			return send(
				res,
				200,
				page(
					sorted(
						state.activities.filter(
							(a) => a.is_deleted !== true && (!dealId || a.deal_id === Number(dealId)),
						),
						url,
					),
					url,
				),
				charge('list'),
			);
		}
		if (method === 'DELETE' && (m = /^\/api\/v2\/activities\/(\d+)$/.exec(path))) {
			const row = state.activities.find((a) => a.id === Number(m![1]) && a.is_deleted !== true);
			if (!row) return fail(res, 404, 'Activity not found');
			row.is_deleted = true; // Pipedrive marks it deleted (purged after 30 days) and lists it no more
			return send(res, 200, { success: true, data: { id: row.id } }, charge('update'));
		}
		if (method === 'GET' && path === '/api/v2/pipelines')
			return send(res, 200, page(pipelines, url), charge('list'));
		if (method === 'GET' && path === '/api/v2/stages') {
			const pipelineId = url.searchParams.get('pipeline_id');
			return send(
				res,
				200,
				page(
					stages.filter((s) => !pipelineId || s.pipeline_id === Number(pipelineId)),
					url,
				),
				charge('list'),
			);
		}
		// ---- v2 deal fields (the same table as v1's, in v2's shape) ----
		if (method === 'GET' && path === '/api/v2/dealFields') {
			const rows = state.dealFields.map((f) => ({
				field_name: f.name,
				field_code: f.key,
				field_type: f.field_type,
				options: f.options ?? null,
				subfields: null,
				is_custom_field: f.edit_flag === true,
				is_optional_response_field: false,
			}));
			return send(res, 200, page(rows as unknown as Row[], url), charge('list'));
		}
		if (method === 'DELETE' && (m = /^\/api\/v2\/dealFields\/([0-9a-f]{40})$/.exec(path))) {
			const index = state.dealFields.findIndex((f) => f.key === m![1]);
			if (index < 0) return fail(res, 404, 'Field not found');
			const [gone] = state.dealFields.splice(index, 1);
			return send(
				res,
				200,
				{
					success: true,
					data: { field_code: gone.key, field_name: gone.name },
					additional_data: null,
				},
				charge('update'),
			);
		}
		const optionsPath = /^\/api\/v2\/dealFields\/([0-9a-f]+)\/options$/.exec(path);
		if (method === 'POST' && optionsPath) {
			// Additive and atomic, as the spec says: the body is a bare array of { label }; only the new options come back.
			const field = state.dealFields.find((f) => f.key === optionsPath[1]);
			if (!field) return fail(res, 404, 'Field not found');
			const text = await readBody(req);
			const body = text ? (JSON.parse(text) as unknown) : undefined;
			if (
				!Array.isArray(body) ||
				body.length === 0 ||
				body.some(
					(o) =>
						typeof (o as { label?: unknown })?.label !== 'string' ||
						!(o as { label: string }).label,
				)
			)
				return fail(res, 400, 'body must be a non-empty array of { label }');
			if (field.field_type !== 'enum' && field.field_type !== 'set')
				return fail(res, 400, 'Field has no options');
			const added = (body as Array<{ label: string }>).map((o) => ({
				id: nextId++,
				label: o.label,
				color: null,
			}));
			field.options = [...((field.options as Row[] | null) ?? []), ...added];
			return send(
				res,
				200,
				{ success: true, data: added, additional_data: null },
				charge('create'),
			);
		}
		if (method === 'POST' && path === '/api/v2/dealFields') {
			const body = await readJson(req);
			if (
				typeof body.field_name !== 'string' ||
				!body.field_name ||
				typeof body.field_type !== 'string'
			)
				return fail(res, 400, 'field_name and field_type are required');
			if ((body.field_type === 'enum' || body.field_type === 'set') && !Array.isArray(body.options))
				return fail(res, 400, 'options are required for enum and set fields');
			const options = Array.isArray(body.options)
				? (body.options as Array<{ label: string }>).map((o) => ({
						id: nextId++,
						label: o.label,
						color: null,
					}))
				: null;
			const key = createHash('sha1').update(`${body.field_name}:${nextId}`).digest('hex');
			const row: Row = {
				id: nextId++,
				key,
				name: body.field_name,
				field_type: body.field_type,
				options,
				edit_flag: true,
			};
			state.dealFields.push(row);
			return send(
				res,
				200,
				{
					success: true,
					data: {
						field_name: row.name,
						field_code: key,
						field_type: row.field_type,
						options,
						subfields: null,
						is_custom_field: true,
						is_optional_response_field: false,
					},
				},
				charge('create'),
			);
		}
		// ---- v1 ----
		if (method === 'GET' && path === '/v1/users')
			return send(res, 200, { success: true, data: users }, charge('v1list'));
		if (method === 'GET' && path === '/v1/users/me') {
			return send(
				res,
				200,
				{
					success: true,
					data: {
						id: 1,
						name: 'Stand-in Owner',
						email: 'owner@example.com',
						company_id: 1,
						company_domain: 'standin',
						timezone_name: 'America/Sao_Paulo',
						active_flag: true,
					},
				},
				charge('v1get'),
			);
		}
		if (method === 'GET' && path === '/v1/activityTypes') {
			return send(
				res,
				200,
				{
					success: true,
					data: ['call', 'meeting', 'task', 'email'].map((key, i) => ({
						id: i + 1,
						name: key[0].toUpperCase() + key.slice(1),
						key_string: key,
						active_flag: true,
						order_nr: i + 1,
						is_custom_flag: false,
					})),
				},
				charge('v1list'),
			);
		}
		if (method === 'GET' && path === '/v1/dealFields') {
			return send(
				res,
				200,
				{
					success: true,
					data: state.dealFields,
					additional_data: {
						pagination: { start: 0, limit: 100, more_items_in_collection: false },
					},
				},
				charge('v1list'),
			);
		}
		if (method === 'POST' && path === '/v1/dealFields') {
			const body = await readJson(req);
			if (!body.name || !body.field_type) return fail(res, 400, 'name and field_type are required');
			const options = Array.isArray(body.options)
				? (body.options as Array<{ label: string }>).map((o) => ({ id: nextId++, label: o.label }))
				: null;
			const row: Row = {
				id: nextId++,
				key: createHash('sha1')
					.update(`${String(body.name)}:${nextId}`)
					.digest('hex'),
				name: body.name,
				field_type: body.field_type,
				options,
				edit_flag: true,
			};
			state.dealFields.push(row);
			return send(res, 200, { success: true, data: row }, charge('v1create'));
		}
		if (method === 'GET' && path === '/v1/notes') {
			const dealId = url.searchParams.get('deal_id');
			const desc = /DESC/i.test(url.searchParams.get('sort') ?? '');
			const start = Number(url.searchParams.get('start') ?? 0);
			const limit = Math.min(Number(url.searchParams.get('limit') ?? 100), 500);
			const rows = state.notes
				.filter((n) => !dealId || n.deal_id === Number(dealId))
				.sort((a, b) => (desc ? b.id - a.id : a.id - b.id));
			const more = start + limit < rows.length;
			return send(
				res,
				200,
				{
					success: true,
					data: rows.slice(start, start + limit),
					additional_data: {
						pagination: {
							start,
							limit,
							more_items_in_collection: more,
							...(more ? { next_start: start + limit } : {}),
						},
					},
				},
				charge('v1list'),
			);
		}
		if (method === 'POST' && path === '/v1/notes') {
			const body = await readJson(req);
			if (!body.content) return fail(res, 400, 'content is required');
			const row: Row = {
				id: nextId++,
				content: body.content,
				deal_id: body.deal_id ?? null,
				person_id: body.person_id ?? null,
				add_time: new Date().toISOString().replace('T', ' ').slice(0, 19),
				active_flag: true,
			};
			state.notes.push(row);
			return send(res, 200, { success: true, data: row }, charge('v1create'));
		}
		return fail(res, 404, `${method} ${url.pathname} is not served by the stand-in`);
	}

	/** A read-only view for people trying the pipeline locally: deals with their checkout fields, activities, notes. */
	function statePage(): string {
		const esc = (v: unknown) => escapeHtml(String(v ?? ''));
		const fieldName = new Map(state.dealFields.map((f) => [f.key as string, f.name as string]));
		const optionLabel = new Map(
			state.dealFields.flatMap((f) =>
				((f.options as Array<{ id: number; label: string }> | null) ?? []).map(
					(o) => [o.id, o.label] as [number, string],
				),
			),
		);
		const custom = (d: Row) =>
			Object.entries((d.custom_fields as Record<string, unknown>) ?? {})
				.filter(([, v]) => v !== null && v !== '')
				.map(
					([k, v]) =>
						`${esc(fieldName.get(k) ?? k)}: ${esc(typeof v === 'number' && optionLabel.has(v) ? optionLabel.get(v) : v)}`,
				)
				.join('<br>');
		const table = (head: string[], rows: string[][]) =>
			`<table border="1" cellpadding="4"><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table>`;
		return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>Pipedrive stand-in</title></head><body>
<h1>Pipedrive stand-in (read-only)</h1>
<h2>Deals</h2>${table(
			['id', 'title', 'status', 'value', 'person', 'owner', 'checkout fields'],
			state.deals.map((d) => [
				esc(d.id),
				esc(d.title),
				esc(d.status),
				`${esc(d.value)} ${esc(d.currency)}`,
				esc(state.persons.find((p) => p.id === d.person_id)?.name ?? ''),
				esc(d.owner_id),
				custom(d),
			]),
		)}
<h2>Activities</h2>${table(
			['id', 'deal', 'type', 'subject', 'due', 'owner', 'done'],
			state.activities.map((a) => [
				esc(a.id),
				esc(a.deal_id),
				esc(a.type),
				esc(a.subject),
				`${esc(a.due_date)} ${esc(a.due_time)}`,
				esc(a.owner_id),
				esc(a.done),
			]),
		)}
<h2>Notes</h2>${table(
			['id', 'deal', 'content'],
			state.notes.map((n) => [esc(n.id), esc(n.deal_id), String(n.content)]),
		)}
<h2>Persons</h2>${table(
			['id', 'name', 'emails', 'phones'],
			state.persons.map((p) => [
				esc(p.id),
				esc(p.name),
				esc(((p.emails as Array<{ value: string }>) ?? []).map((e) => e.value).join(', ')),
				esc(((p.phones as Array<{ value: string }>) ?? []).map((e) => e.value).join(', ')),
			]),
		)}
</body></html>`;
	}

	const server: Server = createServer((req, res) => {
		route(req, res).catch((error: unknown) => fail(res, 500, String(error)));
	});
	await new Promise<void>((resolve) =>
		server.listen(options.port ?? 0, '127.0.0.1', () => resolve()),
	);
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : 0;
	return {
		baseUrl: `http://127.0.0.1:${port}`,
		token,
		faults,
		oauth,
		calls,
		state,
		get searchLagMs() {
			return lag.ms;
		},
		set searchLagMs(ms: number) {
			lag.ms = ms;
		},
		close: () => new Promise<void>((resolve) => server.close(() => resolve())),
	};
}
