/**
 * Pipedrive requests through n8n's authenticated request helper, so that the credential (API token or
 * OAuth2, refreshed by n8n), proxies and n8n's own HTTP settings apply. The answer is handed back whole
 * (status, headers, text) for lib/pipedrive's retry policy to judge.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestOptions,
	ILoadOptionsFunctions,
} from 'n8n-workflow';

import { checkedBaseUrl, pipedriveCompanyUrl } from '../../../lib/http/baseUrl';
import {
	PipedriveClient,
	PipedriveError,
	REQUEST_TIMEOUT_MS,
	type PipedriveResponse,
	type PipedriveTransport,
} from '../../../lib/pipedrive/client';
import { PipedriveShared, processLocalShared } from '../../../lib/pipedrive/shared';
import { nodeSharedStore } from '../../shared/sharedState';

type PipedriveContext = IExecuteFunctions | ILoadOptionsFunctions;

/** The credential type of each authentication choice. */
export const PIPEDRIVE_CREDENTIAL = {
	apiToken: 'checkoutPipedriveApi',
	oAuth2: 'checkoutPipedriveOAuth2Api',
} as const;

export function baseUrlOf(credentials: IDataObject): string {
	const explicit = String(credentials.baseUrl ?? '').trim();
	if (explicit) return checkedBaseUrl(explicit, 'Base URL');
	const apiDomain = (credentials.oauthTokenData as IDataObject | undefined)?.api_domain;
	if (typeof apiDomain === 'string' && apiDomain)
		return checkedBaseUrl(apiDomain, 'The api_domain of the OAuth2 token');
	const domain = String(credentials.companyDomain ?? '').trim();
	return domain ? pipedriveCompanyUrl(domain) : 'https://api.pipedrive.com';
}

function toText(body: unknown): string {
	if (body === undefined || body === null) return '';
	if (typeof body === 'string') return body;
	if (Buffer.isBuffer(body)) return body.toString('utf8');
	return JSON.stringify(body);
}

/** Status, headers and body of an HTTP error thrown by n8n's helper (OAuth2 requests let them throw). */
function answerOfError(error: unknown): PipedriveResponse | undefined {
	const e = error as {
		response?: { status?: number; headers?: Record<string, string>; data?: unknown };
		httpCode?: string;
		cause?: unknown;
	};
	const response = e.response ?? (e.cause as typeof e | undefined)?.response;
	if (!response?.status) return undefined;
	return {
		status: response.status,
		headers: (response.headers ?? {}) as Record<string, string>,
		bodyText: toText(response.data),
	};
}

export async function pipedriveClientFor(
	ctx: PipedriveContext,
): Promise<{ client: PipedriveClient; account: string; shared: PipedriveShared }> {
	const authentication =
		(ctx.getNodeParameter('authentication', 0, 'apiToken') as keyof typeof PIPEDRIVE_CREDENTIAL) ??
		'apiToken';
	const credentialType = PIPEDRIVE_CREDENTIAL[authentication];
	const credentials = await ctx.getCredentials(credentialType);
	// A blank token (compose's .env leaves it empty until the shop has one) is a set-up to finish, not a
	// network failure to retry: the queue pauses on it, as on a refused token, instead of dead-lettering.
	if (authentication === 'apiToken' && !String(credentials.apiToken ?? '').trim())
		throw new PipedriveError(
			'Pipedrive is not set up: the "Checkout Pipedrive" credential has no API token (PIPEDRIVE_API_TOKEN in .env)',
			401,
			false,
			'lasting',
		);
	const baseUrl = baseUrlOf(credentials);
	const transport: PipedriveTransport = async (request) => {
		const options: IHttpRequestOptions = {
			method: request.method,
			url: `${baseUrl}${request.path}`,
			qs: Object.fromEntries(
				Object.entries(request.query ?? {}).filter(([, v]) => v !== undefined),
			) as IDataObject,
			headers: { accept: 'application/json' },
			returnFullResponse: true,
			// The retry policy decides on statuses, so they come back as answers, not as thrown errors. Not with
			// OAuth2: n8n refreshes an expired token only when the request throws its 401; the other statuses
			// are then read back from the error (answerOfError).
			ignoreHttpStatusErrors: authentication !== 'oAuth2',
			json: true,
			timeout: REQUEST_TIMEOUT_MS,
		};
		if (request.body) options.body = request.body as IDataObject;
		try {
			const response = (await ctx.helpers.httpRequestWithAuthentication.call(
				ctx,
				credentialType,
				options,
			)) as {
				statusCode: number;
				headers: Record<string, string>;
				body: unknown;
			};
			return {
				status: response.statusCode,
				headers: response.headers ?? {},
				bodyText: toText(response.body),
			};
		} catch (error) {
			const answer = answerOfError(error);
			if (answer) return answer;
			throw error;
		}
	};
	// The account key separates caches (field keys) and shared state between Pipedrive accounts in one n8n.
	const account = `${baseUrl} ${ctx.getNode().credentials?.[credentialType]?.id ?? ''}`;
	// The state every n8n process shares: in S3 with the node's S3 credential, else this process's own.
	const store = 'getInputData' in ctx ? await nodeSharedStore(ctx as IExecuteFunctions) : undefined;
	const shared = store ? new PipedriveShared(store, account) : processLocalShared(account);
	const searchSlot = store ? async () => await shared.searchSlot() : undefined;
	return {
		client: new PipedriveClient(transport, account, undefined, searchSlot),
		account,
		shared,
	};
}
