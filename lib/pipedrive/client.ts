/**
 * The Pipedrive calls the pack makes (API v2 where it exists; v1 for notes, users and activity types),
 * over a transport the caller supplies: the n8n node sends through n8n's authenticated request helper
 * (credentials, OAuth refresh, proxies), tests send with fetch. Every answer goes through the retry
 * policy, and every HTTP request is counted, so a caller can report calls per lead and per event.
 */
import type { FailureKind, KindedError } from '../util/failure';
import { redactVendorText } from '../util/redact';
import { DEFAULT_RETRY_POLICY, decide, decideNoAnswer, type RetryPolicy } from './retry';

export type Query = Record<string, string | number | boolean | undefined>;

export interface PipedriveRequest {
	method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
	/** '/api/v2/…' or '/v1/…', relative to the account's base URL. */
	path: string;
	query?: Query;
	/** An object, or an array where the endpoint takes one (deal field options). */
	body?: Record<string, unknown> | unknown[];
}

export interface PipedriveResponse {
	status: number;
	headers: Record<string, string | undefined>;
	bodyText: string;
}

export type PipedriveTransport = (request: PipedriveRequest) => Promise<PipedriveResponse>;

export class PipedriveError extends Error implements KindedError {
	constructor(
		message: string,
		readonly status: number,
		/** False for answers that a retry of the request cannot fix (401, 400, a block page). */
		readonly retryable: boolean,
		/** What the failure means for the message being handled (lib/util/failure.ts). */
		readonly failureKind: FailureKind = 'retryable',
	) {
		super(message);
		this.name = 'PipedriveError';
	}

	/** The service that failed, for a paused queue's probe. */
	readonly failureService = 'pipedrive';
}

export type Row = Record<string, unknown> & { id: number };

export interface Person extends Row {
	name: string;
	emails?: Array<{ value: string; primary?: boolean; label?: string }>;
	phones?: Array<{ value: string; primary?: boolean; label?: string }>;
}

export interface PersonHit {
	id: number;
	name: string;
	emails?: string[];
	phones?: string[];
}

export interface Deal extends Row {
	title: string;
	status: 'open' | 'won' | 'lost' | 'deleted';
	person_id: number | null;
	owner_id: number;
	value: number;
	currency: string;
	add_time?: string;
	won_time?: string | null;
	custom_fields?: Record<string, unknown>;
}

export interface DealField {
	field_name: string;
	field_code: string;
	field_type: string;
	options?: Array<{ id: number | string; label: string }> | null;
	is_custom_field?: boolean;
}

/** A request without an answer after this long is abandoned and retried. */
export const REQUEST_TIMEOUT_MS = 30_000;

const SEARCH_WINDOW_MS = 2000;
const SEARCHES_PER_WINDOW = 10;
/** Search start times per account: Pipedrive allows 10 searches per 2 s whatever the plan. */
const searchWindows = new Map<string, number[]>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PipedriveClient {
	/** HTTP requests made, retries included, by "METHOD /path" with ids replaced by {id}. */
	readonly calls = new Map<string, number>();

	constructor(
		private readonly transport: PipedriveTransport,
		/** Identifies the account for the search limiter (the base URL is enough). */
		private readonly account: string,
		private readonly policy: RetryPolicy = DEFAULT_RETRY_POLICY,
		/**
		 * Waits for a slot of the account's search budget (10 per 2 s). By default this process's own count;
		 * lib/pipedrive/shared.ts gives one every n8n process of the install shares.
		 */
		private readonly searchSlot?: () => Promise<void>,
	) {}

	get callCount(): number {
		let n = 0;
		for (const v of this.calls.values()) n += v;
		return n;
	}

	private count(request: PipedriveRequest): void {
		const key = `${request.method} ${request.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
		this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
	}

	private async waitForSearchSlot(): Promise<void> {
		for (;;) {
			const now = Date.now();
			const window = (searchWindows.get(this.account) ?? []).filter(
				(t) => now - t < SEARCH_WINDOW_MS,
			);
			if (window.length < SEARCHES_PER_WINDOW) {
				window.push(now);
				searchWindows.set(this.account, window);
				return;
			}
			// A margin over the window: the server's clock starts its window when the request arrives.
			await sleep(SEARCH_WINDOW_MS - (now - window[0]) + 100);
		}
	}

	/**
	 * One request, retried by the policy. `recover` makes a create safe to retry: after an attempt whose
	 * outcome is unknown (no answer, or a 5xx, which may come after Pipedrive did the work), it looks for
	 * what that attempt may have created, and a hit is the answer; only a miss sends the create again.
	 */
	async request<T>(
		request: PipedriveRequest,
		options: { recover?: () => Promise<T | undefined> } = {},
	): Promise<{ data: T; additional_data?: Record<string, unknown> }> {
		let ambiguous = false;
		for (let attempt = 1; ; attempt++) {
			if (ambiguous && options.recover) {
				const found = await options.recover();
				if (found !== undefined) return { data: found };
			}
			if (request.path.endsWith('/search'))
				await (this.searchSlot ? this.searchSlot() : this.waitForSearchSlot());
			this.count(request);
			let answer: PipedriveResponse;
			try {
				answer = await this.transport(request);
			} catch (error) {
				const noAnswer = decideNoAnswer(attempt, this.policy);
				if (noAnswer.action !== 'retry') {
					const reason = error instanceof Error ? error.message : String(error);
					throw new PipedriveError(
						`${request.method} ${request.path}: no answer from Pipedrive after ${attempt} attempts (${reason})`,
						0,
						true,
						noAnswer.action === 'fail' ? noAnswer.kind : 'retryable',
					);
				}
				ambiguous = request.method !== 'GET';
				await sleep(noAnswer.delayMs);
				continue;
			}
			const decision = decide(answer, attempt, this.policy);
			if (decision.action === 'retry') {
				ambiguous = request.method !== 'GET' && answer.status >= 500;
				await sleep(decision.delayMs);
				continue;
			}
			if (decision.action === 'fail') {
				let detail = '';
				try {
					const body = JSON.parse(answer.bodyText) as { error?: string };
					if (body.error && answer.status !== 429)
						detail = ` (${redactVendorText(String(body.error))})`;
				} catch {
					// not JSON: the decision's message already says so
				}
				throw new PipedriveError(
					`${request.method} ${request.path}: ${decision.message}${detail}`,
					answer.status,
					decision.retryable,
					decision.kind,
				);
			}
			try {
				return JSON.parse(answer.bodyText) as {
					data: T;
					additional_data?: Record<string, unknown>;
				};
			} catch {
				throw new PipedriveError(
					`${request.method} ${request.path}: Pipedrive answered ${answer.status} with a body that is not JSON`,
					answer.status,
					true,
				);
			}
		}
	}

	/** Every page of a v2 list, to its end (cursor pagination ends with `next_cursor: null`). */
	async listAll<T>(path: string, query: Query = {}): Promise<T[]> {
		return (await this.listUpTo<T>(path, query, Number.POSITIVE_INFINITY)).rows;
	}

	/**
	 * The pages of a v2 list up to `maxPages`: the rows, and whether the list went on past them (the caller
	 * says so: nothing is cut silently).
	 */
	async listUpTo<T>(
		path: string,
		query: Query,
		maxPages: number,
	): Promise<{ rows: T[]; truncated: boolean }> {
		const rows: T[] = [];
		let cursor: string | undefined;
		for (let pageNo = 0; pageNo < maxPages; pageNo++) {
			const page = await this.request<T[]>({
				method: 'GET',
				path,
				query: { ...query, limit: query.limit ?? 500, cursor },
			});
			rows.push(...(page.data ?? []));
			const next = page.additional_data?.next_cursor;
			if (typeof next !== 'string' || next === '') return { rows, truncated: false };
			cursor = next;
		}
		return { rows, truncated: true };
	}

	/**
	 * Every page of a v1 list (`start` pagination, `more_items_in_collection`), or until `stop` finds what
	 * the caller looks for (it gets each page's rows and returns a hit).
	 */
	async listAllV1<T>(
		path: string,
		query: Query,
		stop?: (rows: T[]) => T | undefined,
	): Promise<{ rows: T[]; found?: T }> {
		const rows: T[] = [];
		let start = 0;
		for (;;) {
			const page = await this.request<T[]>({
				method: 'GET',
				path,
				query: { ...query, start, limit: query.limit ?? 500 },
			});
			const data = page.data ?? [];
			rows.push(...data);
			const found = stop?.(data);
			if (found !== undefined) return { rows, found };
			const pagination = (page.additional_data?.pagination ?? {}) as {
				more_items_in_collection?: boolean;
				next_start?: number;
			};
			if (!pagination.more_items_in_collection || !data.length) return { rows };
			start =
				typeof pagination.next_start === 'number' ? pagination.next_start : start + data.length;
		}
	}

	// ---- persons ----
	/** The person with exactly this e-mail (search items carry emails and phones as plain strings). */
	async findPersonByEmail(email: string): Promise<PersonHit | undefined> {
		const answer = await this.request<{ items: Array<{ item: PersonHit }> }>({
			method: 'GET',
			path: '/api/v2/persons/search',
			query: { term: email, fields: 'email', exact_match: true, limit: 2 },
		});
		const wanted = email.toLowerCase();
		return (
			answer.data.items.find((i) => (i.item.emails ?? []).some((e) => e.toLowerCase() === wanted))
				?.item ?? answer.data.items[0]?.item
		);
	}

	async getPerson(id: number): Promise<Person | undefined> {
		try {
			return (await this.request<Person>({ method: 'GET', path: `/api/v2/persons/${id}` })).data;
		} catch (error) {
			if (error instanceof PipedriveError && error.status === 404) return undefined;
			throw error;
		}
	}

	/** `recover`: how to find the person a create whose answer was lost may have made (see request). */
	async createPerson(
		body: Record<string, unknown>,
		recover?: () => Promise<Person | undefined>,
	): Promise<Person> {
		return (
			await this.request<Person>({ method: 'POST', path: '/api/v2/persons', body }, { recover })
		).data;
	}

	// ---- deals ----
	/** The deal with a custom field exactly `value` (an open one first): how a lead id finds its deal. */
	async findDealByCustomField(value: string): Promise<number | undefined> {
		const answer = await this.request<{ items: Array<{ item: { id: number; status?: string } }> }>({
			method: 'GET',
			path: '/api/v2/deals/search',
			query: { term: value, fields: 'custom_fields', exact_match: true, limit: 10 },
		});
		const items = answer.data.items.map((i) => i.item);
		return (items.find((d) => d.status === 'open') ?? items[0])?.id;
	}

	async getDeal(id: number): Promise<Deal | undefined> {
		try {
			return (await this.request<Deal>({ method: 'GET', path: `/api/v2/deals/${id}` })).data;
		} catch (error) {
			if (error instanceof PipedriveError && error.status === 404) return undefined;
			throw error;
		}
	}

	async createDeal(
		body: Record<string, unknown>,
		recover?: () => Promise<Deal | undefined>,
	): Promise<Deal> {
		return (await this.request<Deal>({ method: 'POST', path: '/api/v2/deals', body }, { recover }))
			.data;
	}

	async updateDeal(id: number, body: Record<string, unknown>): Promise<Deal> {
		return (await this.request<Deal>({ method: 'PATCH', path: `/api/v2/deals/${id}`, body })).data;
	}

	async listDeals(query: Query): Promise<Deal[]> {
		return await this.listAll<Deal>('/api/v2/deals', query);
	}

	/** A person's deals, every page (a person has a handful; a duplicate check must see them all). */
	async personDeals(
		personId: number,
		sortBy: 'update_time' | 'add_time' = 'update_time',
	): Promise<Deal[]> {
		return await this.listAll<Deal>('/api/v2/deals', {
			person_id: personId,
			sort_by: sortBy,
			sort_direction: 'desc',
			limit: 100,
		});
	}

	// ---- activities and notes ----
	async createActivity(
		body: Record<string, unknown>,
		recover?: () => Promise<Row | undefined>,
	): Promise<Row> {
		return (
			await this.request<Row>({ method: 'POST', path: '/api/v2/activities', body }, { recover })
		).data;
	}

	/** A deal's activities, newest first (a list, consistent at once, unlike search). */
	async dealActivities(
		dealId: number,
	): Promise<Array<Row & { note?: string | null; subject?: string }>> {
		return await this.listAll<Row & { note?: string | null; subject?: string }>(
			'/api/v2/activities',
			{ deal_id: dealId, sort_by: 'id', sort_direction: 'desc', limit: 500 },
		);
	}

	async deleteActivity(id: number): Promise<void> {
		try {
			await this.request<Row>({ method: 'DELETE', path: `/api/v2/activities/${id}` });
		} catch (error) {
			if (error instanceof PipedriveError && error.status === 404) return; // gone already
			throw error;
		}
	}

	async updateActivity(id: number, body: Record<string, unknown>): Promise<Row | undefined> {
		try {
			return (await this.request<Row>({ method: 'PATCH', path: `/api/v2/activities/${id}`, body }))
				.data;
		} catch (error) {
			// Deleted by a salesperson in the meantime: nothing left to mark done.
			if (error instanceof PipedriveError && error.status === 404) return undefined;
			throw error;
		}
	}

	async addNote(
		body: Record<string, unknown>,
		recover?: () => Promise<Row | undefined>,
	): Promise<Row> {
		return (await this.request<Row>({ method: 'POST', path: '/v1/notes', body }, { recover })).data;
	}

	/** A deal's notes, newest first, every page (v1: notes have no v2 endpoint). */
	async dealNotes(dealId: number): Promise<Array<Row & { content?: string }>> {
		return (
			await this.listAllV1<Row & { content?: string }>('/v1/notes', {
				deal_id: dealId,
				sort: 'id DESC',
				limit: 100,
			})
		).rows;
	}

	/** The newest note of a deal that `matches`, looking through its pages until found or to the end. */
	async findDealNote(
		dealId: number,
		matches: (note: Row & { content?: string }) => boolean,
	): Promise<(Row & { content?: string }) | undefined> {
		return (
			await this.listAllV1<Row & { content?: string }>(
				'/v1/notes',
				{ deal_id: dealId, sort: 'id DESC', limit: 100 },
				(rows) => rows.find(matches),
			)
		).found;
	}

	// ---- account metadata ----
	async dealFields(): Promise<DealField[]> {
		return await this.listAll<DealField>('/api/v2/dealFields');
	}

	async addDealField(
		body: { field_name: string; field_type: string; options?: Array<{ label: string }> },
		recover?: () => Promise<DealField | undefined>,
	): Promise<DealField> {
		return (
			await this.request<DealField>(
				{ method: 'POST', path: '/api/v2/dealFields', body },
				{ recover },
			)
		).data;
	}

	/** The deal fields with their numeric ids (v1): the ids tell which of two same-named fields was made first. */
	async dealFieldIds(): Promise<Array<{ id: number; key: string; name: string }>> {
		return (
			await this.listAllV1<{ id: number; key: string; name: string }>('/v1/dealFields', {
				limit: 500,
			})
		).rows;
	}

	async deleteDealField(fieldCode: string): Promise<void> {
		try {
			await this.request<unknown>({
				method: 'DELETE',
				path: `/api/v2/dealFields/${encodeURIComponent(fieldCode)}`,
			});
		} catch (error) {
			if (error instanceof PipedriveError && error.status === 404) return;
			throw error;
		}
	}

	/** Adds options to a single-option field (v2: additive and atomic; the existing option ids stay). */
	async addDealFieldOptions(
		fieldCode: string,
		labels: string[],
	): Promise<Array<{ id: number; label: string }>> {
		return (
			await this.request<Array<{ id: number; label: string }>>({
				method: 'POST',
				path: `/api/v2/dealFields/${encodeURIComponent(fieldCode)}/options`,
				body: labels.map((label) => ({ label })),
			})
		).data;
	}

	async me(): Promise<Row> {
		return (await this.request<Row>({ method: 'GET', path: '/v1/users/me' })).data;
	}

	async users(): Promise<Array<Row & { name: string; email: string; active_flag: boolean }>> {
		return (
			(
				await this.request<Array<Row & { name: string; email: string; active_flag: boolean }>>({
					method: 'GET',
					path: '/v1/users',
				})
			).data ?? []
		);
	}

	async activityTypes(): Promise<
		Array<Row & { name: string; key_string: string; active_flag: boolean }>
	> {
		return (
			(
				await this.request<Array<Row & { name: string; key_string: string; active_flag: boolean }>>(
					{ method: 'GET', path: '/v1/activityTypes' },
				)
			).data ?? []
		);
	}

	async pipelines(): Promise<Array<Row & { name: string }>> {
		return await this.listAll('/api/v2/pipelines');
	}

	async stages(pipelineId?: number): Promise<Array<Row & { name: string; pipeline_id: number }>> {
		return await this.listAll('/api/v2/stages', pipelineId ? { pipeline_id: pipelineId } : {});
	}
}

/** A transport over fetch, for scripts and tests outside n8n. */
export function fetchTransport(
	baseUrl: string,
	auth: { apiToken?: string; accessToken?: string },
): PipedriveTransport {
	const base = baseUrl.replace(/\/+$/, '');
	return async (request) => {
		const url = new URL(base + request.path);
		for (const [k, v] of Object.entries(request.query ?? {}))
			if (v !== undefined) url.searchParams.set(k, String(v));
		const headers: Record<string, string> = { accept: 'application/json' };
		if (auth.apiToken) headers['x-api-token'] = auth.apiToken;
		if (auth.accessToken) headers.authorization = `Bearer ${auth.accessToken}`;
		if (request.body) headers['content-type'] = 'application/json';
		const res = await fetch(url, {
			method: request.method,
			headers,
			body: request.body ? JSON.stringify(request.body) : undefined,
			signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
		});
		const responseHeaders: Record<string, string> = {};
		res.headers.forEach((value, key) => (responseHeaders[key] = value));
		return { status: res.status, headers: responseHeaders, bodyText: await res.text() };
	};
}
