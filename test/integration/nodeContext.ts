/**
 * A small fake of n8n's execute context, for running a node's real `execute` in-process (as n8n's own
 * Airtable v2 node tests do), against real services. It implements what the pack's regular nodes use,
 * the way n8n-core does it, and fails loudly on anything else:
 *
 *  - parameters as n8n resolves them: a parameter the node's description does not display (its
 *    displayOptions do not match) is absent (the fallback, or "Could not get parameter"); a displayed one
 *    not given has its description default; a value may be a function `(itemIndex) => value` for per-item
 *    values. Expressions are evaluated only in the simple forms the pack's defaults use:
 *    `={{ $json }}`, `={{ $json.a.b }}` and `={{ $json.a || "text" }}`.
 *  - credentials checked as n8n checks them (declared by the node, displayed, set on the node);
 *  - binary data kept in memory as base64 (n8n's default binary mode);
 *  - `httpRequestWithAuthentication` makes a real HTTP request with fetch, after applying the credential
 *    type's generic `authenticate` from `credentials/<Type>.credentials.ts`, with n8n's option handling
 *    and its errors (a NodeApiError whose cause is an axios-like error carrying `response`).
 */
import { join, parse as parsePath } from 'node:path';
import { Readable } from 'node:stream';

import {
	ApplicationError,
	BINARY_ENCODING,
	NodeApiError,
	NodeOperationError,
	fileTypeFromMimeType,
	type IBinaryData,
	type ICredentialDataDecryptedObject,
	type ICredentialsDisplayOptions,
	type ICredentialType,
	type IDataObject,
	type IDisplayOptions,
	type IExecuteFunctions,
	type IHttpRequestOptions,
	type IN8nHttpFullResponse,
	type INode,
	type INodeCredentials,
	type INodeExecutionData,
	type INodeParameters,
	type INodeProperties,
	type INodeType,
	type JsonObject,
} from 'n8n-workflow';

/** A parameter value, or `(itemIndex) => value` for a value that differs per item (an expression in n8n). */
export type ParameterInput = unknown;

export interface ExecuteContextOptions {
	/** The node whose `execute` runs: its description decides defaults, display rules and credentials. */
	node: INodeType;
	/** The node's parameters as set in the editor; a function is called with the item index. */
	parameters: Record<string, ParameterInput>;
	/** The input items (default: one empty item, as a manual trigger gives). */
	items?: INodeExecutionData[];
	/** Decrypted credential data by credential type, e.g. `{ checkoutS3Api: { … } }`. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	/** The node's "On Error" setting is one of the two "continue" ones. */
	continueOnFail?: boolean;
	/** The node's static data (`getWorkflowStaticData('node')`): pass the same object to several runs to keep it. */
	staticData?: IDataObject;
	/** The node's name in the workflow. */
	name?: string;
	/** What n8n's getRestApiUrl() answers: n8n's public webhook address + `rest` (default: loopback). */
	restApiUrl?: string;
}

export interface SentRequest {
	credentialType?: string;
	method: string;
	url: string;
	headers: Record<string, string>;
	body?: string;
	status?: number;
}

export interface LoggedMessage {
	level: 'debug' | 'info' | 'warn' | 'error';
	message: string;
}

/** `this` for a node's `execute`, plus what the test reads back. */
export type FakeExecuteContext = IExecuteFunctions & {
	/** The object `getWorkflowStaticData('node')` returns, kept across runs when passed in again. */
	readonly staticData: IDataObject;
	/** Every HTTP request the node made through the helpers, in order. */
	readonly requests: SentRequest[];
	readonly logged: LoggedMessage[];
};

// ---- expressions (only the simple forms of the pack's defaults) ----

const JSON_PATH = /^\$json((?:\.[A-Za-z_$][\w$]*)*)$/;
const STRING_LITERAL = /^(?:"([^"\\]*)"|'([^'\\]*)')$/;

function evaluateOperand(operand: string, json: IDataObject, expression: string): unknown {
	const path = JSON_PATH.exec(operand);
	if (path) {
		return path[1]
			.split('.')
			.filter(Boolean)
			.reduce<unknown>(
				(value, key) =>
					value !== null && typeof value === 'object' ? (value as IDataObject)[key] : undefined,
				json,
			);
	}
	const literal = STRING_LITERAL.exec(operand);
	if (literal) return literal[1] ?? literal[2];
	throw new Error(
		`The fake execute context cannot evaluate the expression ${expression}: give the parameter a value (or a function of the item index) instead`,
	);
}

/** `={{ … }}` against an item's JSON: `$json`, `$json.a.b`, and `x || y` of those or of string literals. */
function evaluateExpression(expression: string, json: IDataObject): unknown {
	const whole = /^=\{\{\s*([\s\S]+?)\s*\}\}$/.exec(expression);
	if (!whole)
		throw new Error(
			`The fake execute context cannot evaluate the expression ${expression}: give the parameter a value instead`,
		);
	const operands = whole[1].split('||').map((operand) => operand.trim());
	let value: unknown;
	for (const operand of operands) {
		value = evaluateOperand(operand, json, expression);
		if (value) return value;
	}
	return value;
}

const isExpression = (value: unknown): value is string =>
	typeof value === 'string' && value.startsWith('=');

/** Resolves expressions in a value (also inside objects and arrays, as n8n does) into a new value. */
function resolveValue(value: unknown, json: IDataObject): unknown {
	if (isExpression(value)) return evaluateExpression(value, json);
	if (Array.isArray(value)) return value.map((v) => resolveValue(v, json));
	if (
		value !== null &&
		typeof value === 'object' &&
		Object.getPrototypeOf(value) === Object.prototype
	) {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, json)]));
	}
	return value;
}

// ---- display rules ----

/** What a display rule sees of a parameter whose value is an expression: n8n then shows what depends on it. */
const EXPRESSION = Symbol('expression');
type DisplayValue = unknown;

function conditionValues(list: unknown[] | undefined, where: string): unknown[] {
	for (const v of list ?? []) {
		if (v !== null && typeof v === 'object')
			throw new Error(
				`The fake execute context does not evaluate display conditions such as ${JSON.stringify(v)} (${where})`,
			);
	}
	return list ?? [];
}

// ---- binary data ----

const MIME_BY_EXTENSION: Record<string, string> = {
	json: 'application/json',
	txt: 'text/plain',
	html: 'text/html',
	csv: 'text/csv',
	xml: 'application/xml',
	pdf: 'application/pdf',
	png: 'image/png',
	jpg: 'image/jpeg',
	jpeg: 'image/jpeg',
	bin: 'application/octet-stream',
};

/** The size as n8n shows it (pretty-bytes: SI units, 3 significant digits). */
function prettyBytes(bytes: number): string {
	if (bytes < 1000) return `${bytes} B`;
	const units = ['kB', 'MB', 'GB', 'TB'];
	let value = bytes;
	let unit = -1;
	while (value >= 1000 && unit < units.length - 1) {
		value /= 1000;
		unit++;
	}
	return `${Number(value.toPrecision(3))} ${units[unit]}`;
}

async function toBuffer(data: Buffer | Readable): Promise<Buffer> {
	if (Buffer.isBuffer(data)) return data;
	const chunks: Buffer[] = [];
	for await (const chunk of data)
		chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
	return Buffer.concat(chunks);
}

// ---- HTTP (n8n's httpRequest on axios, done with fetch) ----

/**
 * The shape of the error axios throws, which n8n's request helpers let through and NodeApiError reads:
 * `response` with status, headers and data; `code` for network failures. The class name matters, as
 * NodeApiError takes the HTTP code of an error whose constructor is named AxiosError.
 */
class AxiosError extends Error {
	readonly isAxiosError = true;
	readonly status?: number;
	constructor(
		message: string,
		readonly code: string | undefined,
		readonly response?: { status: number; statusText: string; headers: IDataObject; data: unknown },
	) {
		super(message);
		this.name = 'AxiosError';
		this.status = response?.status;
	}
}

const headerKey = (headers: Record<string, string>, name: string) =>
	Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());

function isEmptyBody(body: unknown): boolean {
	if (body === undefined || body === null || body === '') return true;
	if (typeof body === 'object' && !Buffer.isBuffer(body) && !(body instanceof URLSearchParams))
		return Object.keys(body).length === 0;
	return false;
}

function statusAccepted(
	status: number,
	ignore: IHttpRequestOptions['ignoreHttpStatusErrors'],
): boolean {
	if (ignore === true) return true;
	if (ignore && typeof ignore === 'object' && ignore.ignore === true)
		return !ignore.except.includes(status);
	return status >= 200 && status < 300;
}

async function sendHttpRequest(
	options: IHttpRequestOptions,
	log: SentRequest[],
	credentialType?: string,
): Promise<unknown> {
	const method = (options.method ?? 'GET').toUpperCase();
	const url = new URL(options.url, options.baseURL);
	for (const [name, value] of Object.entries(options.qs ?? {})) {
		if (value === undefined) continue;
		if (value !== null && typeof value === 'object')
			throw new Error(
				`The fake execute context sends only plain query values, not ${name}=${JSON.stringify(value)}`,
			);
		url.searchParams.append(name, String(value));
	}
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(options.headers ?? {}))
		if (value !== undefined && value !== null) headers[name] = String(value);

	// As n8n: no body on GET (and none on HEAD or OPTIONS when empty); an object goes as JSON (axios), or as a
	// form when the content type says so; a string or a Buffer as it is.
	let body: string | Buffer | undefined;
	const given = options.body;
	if (
		method !== 'GET' &&
		!(['HEAD', 'OPTIONS'].includes(method) && isEmptyBody(given)) &&
		!isEmptyBody(given)
	) {
		const contentType = headerKey(headers, 'content-type');
		if (typeof given === 'string' || Buffer.isBuffer(given)) body = given;
		else if (given instanceof URLSearchParams) {
			body = given.toString();
			if (!contentType) headers['Content-Type'] = 'application/x-www-form-urlencoded';
		} else if (typeof given === 'object' && given !== null) {
			if (contentType && headers[contentType] === 'application/x-www-form-urlencoded')
				body = new URLSearchParams(given as Record<string, string>).toString();
			else {
				body = JSON.stringify(given);
				if (!contentType) headers['Content-Type'] = 'application/json';
			}
		} else throw new Error(`The fake execute context cannot send a body of type ${typeof given}`);
	}
	if (options.json && !headerKey(headers, 'accept')) headers.Accept = 'application/json';
	if (!headerKey(headers, 'user-agent')) headers['User-Agent'] = 'n8n';

	const sent: SentRequest = {
		credentialType,
		method,
		url: url.toString(),
		headers,
		body: body === undefined ? undefined : body.toString(),
	};
	log.push(sent);
	let res: Response;
	try {
		res = await fetch(url, {
			method,
			headers,
			body,
			redirect: options.disableFollowRedirect ? 'manual' : 'follow',
			signal: options.timeout ? AbortSignal.timeout(options.timeout) : undefined,
		});
	} catch (error) {
		const cause = (error as { cause?: { code?: string; message?: string } }).cause;
		throw new AxiosError(
			cause?.message ?? (error as Error).message,
			cause?.code ?? (error as { name?: string }).name,
		);
	}
	sent.status = res.status;
	const raw = Buffer.from(await res.arrayBuffer());
	let data: unknown;
	if (options.encoding === 'arraybuffer') data = raw;
	else {
		// axios parses JSON answers whatever was asked (forcedJSONParsing), and hands back the text when it is not JSON.
		const text = raw.toString('utf8');
		try {
			data = text === '' ? '' : (JSON.parse(text) as unknown);
		} catch {
			data = text;
		}
	}
	const responseHeaders: IDataObject = Object.fromEntries(res.headers.entries());
	if (!statusAccepted(res.status, options.ignoreHttpStatusErrors)) {
		throw new AxiosError(
			`Request failed with status code ${res.status}`,
			res.status >= 500 ? 'ERR_BAD_RESPONSE' : 'ERR_BAD_REQUEST',
			{
				status: res.status,
				statusText: res.statusText,
				headers: responseHeaders,
				data,
			},
		);
	}
	if (options.returnFullResponse) {
		const full: IN8nHttpFullResponse = {
			body: data as IN8nHttpFullResponse['body'],
			headers: responseHeaders,
			statusCode: res.status,
			statusMessage: res.statusText,
		};
		return full;
	}
	return data;
}

// ---- credentials ----

const credentialTypes = new Map<string, ICredentialType>();

/** The credential type `checkoutStripeApi` from credentials/CheckoutStripeApi.credentials.ts. */
async function loadCredentialType(type: string): Promise<ICredentialType> {
	const known = credentialTypes.get(type);
	if (known) return known;
	const className = type[0].toUpperCase() + type.slice(1);
	const file = join(__dirname, '..', '..', 'credentials', `${className}.credentials`);
	const exported = (await import(file)) as Record<string, unknown>;
	const Credential = exported[className] as (new () => ICredentialType) | undefined;
	if (typeof Credential !== 'function') throw new Error(`${file} exports no class ${className}`);
	const instance = new Credential();
	if (instance.name !== type)
		throw new Error(`${className} is the credential type "${instance.name}", not "${type}"`);
	credentialTypes.set(type, instance);
	return instance;
}

/** `={{$credentials.x}}` and `=Bearer {{$credentials.x}}`, as n8n's credentials helper resolves them. */
function resolveCredentialValue(
	value: unknown,
	credentials: ICredentialDataDecryptedObject,
	type: string,
): unknown {
	if (!isExpression(value)) return value;
	const single = /^=\{\{\s*\$credentials\.([A-Za-z0-9_]+)\s*\}\}$/.exec(value);
	if (single) return credentials[single[1]];
	const text = value
		.slice(1)
		.replace(/\{\{\s*\$credentials\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) =>
			String(credentials[key] ?? ''),
		);
	if (text.includes('{{'))
		throw new Error(`The fake execute context cannot resolve ${value} of the credential ${type}`);
	return text;
}

async function authenticate(
	type: string,
	credentials: ICredentialDataDecryptedObject,
	options: IHttpRequestOptions,
): Promise<IHttpRequestOptions> {
	const credentialType = await loadCredentialType(type);
	if (credentialType.extends?.some((parent) => parent === 'oAuth2Api' || parent === 'oAuth1Api')) {
		throw new Error(
			`The fake execute context does not do OAuth (${type} extends ${credentialType.extends.join(', ')})`,
		);
	}
	const auth = credentialType.authenticate;
	if (!auth) return options;
	if (typeof auth === 'function') return await auth(credentials, options);
	const out: IHttpRequestOptions = {
		...options,
		headers: { ...options.headers },
		qs: { ...options.qs },
	};
	for (const [outer, values] of Object.entries(auth.properties) as Array<
		[keyof typeof auth.properties, Record<string, unknown> | undefined]
	>) {
		for (const [key, value] of Object.entries(values ?? {})) {
			const name = String(resolveCredentialValue(key, credentials, type));
			const resolved = resolveCredentialValue(value, credentials, type);
			if (outer === 'headers') out.headers = { ...out.headers, [name]: resolved as string };
			else if (outer === 'qs') out.qs = { ...out.qs, [name]: resolved as string };
			else if (outer === 'body')
				out.body = { ...(out.body as IDataObject | undefined), [name]: resolved as string };
			else if (outer === 'auth')
				out.auth = { ...(out.auth ?? { username: '', password: '' }), [name]: String(resolved) };
		}
	}
	return out;
}

// ---- the context ----

/** Property reads n8n-independent code makes on any object (promises, jest, util.inspect): not calls into n8n. */
const PROBES = new Set([
	'then',
	'toJSON',
	'asymmetricMatch',
	'$$typeof',
	'nodeType',
	'constructor',
	'inspect',
	'@@__IMMUTABLE_ITERABLE__@@',
	'@@__IMMUTABLE_RECORD__@@',
]);

/** Throws on a member the fake lacks, naming it, instead of "undefined is not a function" somewhere deep. */
function strict<T extends object>(target: T, what: string): T {
	return new Proxy(target, {
		get(object, property, receiver) {
			if (typeof property === 'symbol' || property in object || PROBES.has(property))
				return Reflect.get(object, property, receiver) as unknown;
			throw new Error(
				`The fake execute context does not implement ${what}${property}: add it to test/integration/nodeContext.ts`,
			);
		},
	});
}

export function executeContext(options: ExecuteContextOptions): FakeExecuteContext {
	const description = options.node.description;
	const items: INodeExecutionData[] = options.items ?? [{ json: {} }];
	const given = options.parameters;
	const credentials = options.credentials ?? {};
	const staticData = options.staticData ?? {};
	const globalStaticData: IDataObject = {};
	const requests: SentRequest[] = [];
	const logged: LoggedMessage[] = [];
	const properties = description.properties;

	for (const name of Object.keys(given)) {
		if (!properties.some((p) => p.name === name))
			throw new Error(`"${name}" is not a parameter of the ${description.displayName} node`);
	}

	const nodeCredentials: INodeCredentials = Object.fromEntries(
		Object.keys(credentials).map((type) => [type, { id: `fake-${type}`, name: `${type} (test)` }]),
	);
	const version =
		description.defaultVersion ??
		(Array.isArray(description.version) ? Math.max(...description.version) : description.version);
	const storableParameters = Object.fromEntries(
		Object.entries(given).filter(([, v]) => typeof v !== 'function'),
	) as INodeParameters;
	const node: INode = {
		id: `fake-${description.name}`,
		name: options.name ?? description.defaults.name ?? description.displayName,
		type: `n8n-nodes-checkout-recovery.${description.name}`,
		typeVersion: version,
		position: [0, 0],
		parameters: storableParameters,
		credentials: nodeCredentials,
		...(options.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
	const getNode = (): INode => structuredClone(node);

	// What a display rule sees of a parameter: its raw value (an expression or a per-item function
	// counts as an expression), or the default of its displayed property.
	const displayValue = (name: string, depth: number): DisplayValue => {
		if (Object.prototype.hasOwnProperty.call(given, name)) {
			const value = given[name];
			if (typeof value === 'function' || isExpression(value)) return EXPRESSION;
			if (displayedProperty(name, depth + 1)) return value;
		}
		const property = displayedProperty(name, depth + 1);
		if (!property) return undefined;
		return isExpression(property.default) ? EXPRESSION : property.default;
	};

	const displayed = (
		displayOptions: IDisplayOptions | ICredentialsDisplayOptions | undefined,
		depth: number,
		where: string,
	): boolean => {
		if (!displayOptions) return true;
		if (depth > 20) throw new Error(`Display rules of ${where} depend on each other in a circle`);
		for (const [name, list] of Object.entries(displayOptions.show ?? {})) {
			const wanted = conditionValues(list as unknown[] | undefined, where);
			const value = name === '@version' ? version : displayValue(name, depth);
			if (value === EXPRESSION) continue;
			const values = Array.isArray(value) ? (value as unknown[]) : [value];
			if (!wanted.some((w) => values.includes(w))) return false;
		}
		for (const [name, list] of Object.entries(displayOptions.hide ?? {})) {
			const unwanted = conditionValues(list as unknown[] | undefined, where);
			const value = name === '@version' ? version : displayValue(name, depth);
			if (value === EXPRESSION) continue;
			const values = Array.isArray(value) ? (value as unknown[]) : [value];
			if (unwanted.some((u) => values.includes(u))) return false;
		}
		return true;
	};

	/** The property of that name whose display rules match (n8n keeps only displayed parameters). */
	function displayedProperty(name: string, depth = 0): INodeProperties | undefined {
		return properties.find(
			(p) =>
				p.name === name &&
				p.type !== 'notice' &&
				displayed(p.displayOptions, depth, `parameter "${name}"`),
		);
	}

	const getNodeParameter = (
		parameterName: string,
		itemIndex: number,
		fallbackValue?: unknown,
	): unknown => {
		const [root, ...path] = parameterName.split('.');
		const property = displayedProperty(root);
		const json = items[itemIndex]?.json ?? {};
		const at = (value: unknown) =>
			path.reduce<unknown>(
				(v, key) => (v !== null && typeof v === 'object' ? (v as IDataObject)[key] : undefined),
				value,
			);
		let value: unknown;
		if (property) {
			const raw = Object.prototype.hasOwnProperty.call(given, root)
				? given[root]
				: structuredClone(property.default);
			// A per-item value is n8n's expression: whatever it gives is the value, undefined included.
			if (typeof raw === 'function')
				return resolveValue(at((raw as (itemIndex: number) => unknown)(itemIndex)), json);
			value = at(raw);
			if (value === undefined) value = fallbackValue;
		} else {
			value = fallbackValue;
		}
		// As n8n-core: a parameter neither displayed (so neither set nor defaulted) nor given a fallback.
		if (value === undefined)
			throw new ApplicationError('Could not get parameter', { extra: { parameterName } });
		return resolveValue(value, json);
	};

	const getCredentials = async <T extends object = ICredentialDataDecryptedObject>(
		type: string,
	): Promise<T> => {
		const declared = description.credentials?.find((c) => c.name === type);
		if (!declared)
			throw new NodeOperationError(
				getNode(),
				`Node type "${node.type}" does not have any credentials of type "${type}" defined`,
				{ level: 'warning' },
			);
		if (!credentials[type]) {
			if (declared.required)
				throw new NodeOperationError(
					getNode(),
					`Node does not have any credentials set for "${type}"`,
					{ level: 'warning' },
				);
			throw new NodeOperationError(getNode(), 'Node does not require credentials');
		}
		if (!displayed(declared.displayOptions, 0, `credential "${type}"`))
			throw new NodeOperationError(getNode(), 'Credentials not found');
		return structuredClone(credentials[type]) as unknown as T;
	};

	const binaryOf = (itemIndex: number, parameterData: string | IBinaryData): IBinaryData => {
		if (typeof parameterData !== 'string') return parameterData;
		const binary = items[itemIndex]?.binary;
		if (!binary) {
			throw new NodeOperationError(
				getNode(),
				`This operation expects the node's input data to contain a binary file '${parameterData}', but none was found [item ${itemIndex}]`,
				{
					itemIndex,
					description: 'Make sure that the previous node outputs a binary file',
				},
			);
		}
		const data = binary[parameterData];
		if (!data) {
			throw new NodeOperationError(
				getNode(),
				`The item has no binary field '${parameterData}' [item ${itemIndex}]`,
				{
					itemIndex,
					description:
						'Check that the parameter where you specified the input binary field name is correct, and that it matches a field in the binary input',
				},
			);
		}
		return data;
	};

	const helpers = {
		assertBinaryData: (itemIndex: number, parameterData: string | IBinaryData): IBinaryData =>
			binaryOf(itemIndex, parameterData),
		getBinaryDataBuffer: async (
			itemIndex: number,
			parameterData: string | IBinaryData,
		): Promise<Buffer> => {
			const data = binaryOf(itemIndex, parameterData);
			if (data.id)
				throw new Error(
					`The fake execute context keeps binary data in memory only (base64 in "data"), not in a store (id ${data.id})`,
				);
			return Buffer.from(data.data, BINARY_ENCODING);
		},
		prepareBinaryData: async (
			binaryData: Buffer | Readable,
			filePath?: string,
			mimeType?: string,
		): Promise<IBinaryData> => {
			const buffer = await toBuffer(binaryData);
			let file = filePath?.split('?')[0];
			const parts = file ? parsePath(file) : undefined;
			const extension = parts?.ext.slice(1) || undefined;
			const type =
				mimeType ||
				(extension ? MIME_BY_EXTENSION[extension.toLowerCase()] : undefined) ||
				'text/plain';
			file = parts?.base;
			return {
				mimeType: type,
				fileType: fileTypeFromMimeType(type),
				...(extension ? { fileExtension: extension } : {}),
				...(parts && parts.dir !== '' ? { directory: parts.dir } : {}),
				...(file ? { fileName: file } : {}),
				data: buffer.toString(BINARY_ENCODING),
				fileSize: prettyBytes(buffer.length),
				bytes: buffer.length,
			};
		},
		httpRequest: async (requestOptions: IHttpRequestOptions): Promise<unknown> =>
			await sendHttpRequest(structuredClone(requestOptions), requests),
		httpRequestWithAuthentication: async (
			credentialsType: string,
			requestOptions: IHttpRequestOptions,
		): Promise<unknown> => {
			try {
				const data = await getCredentials(credentialsType);
				const authenticated = await authenticate(credentialsType, data, requestOptions);
				return await sendHttpRequest(authenticated, requests, credentialsType);
			} catch (error) {
				// n8n-core wraps whatever went wrong (a NodeApiError passes through its constructor unchanged).
				throw new NodeApiError(getNode(), error as JsonObject);
			}
		},
	};

	const log = (level: LoggedMessage['level']) => (message: string) =>
		logged.push({ level, message });
	const context = {
		staticData,
		requests,
		logged,
		logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
		getInputData: (inputIndex = 0): INodeExecutionData[] => {
			if (inputIndex !== 0)
				throw new Error(`The fake execute context has one input, not input ${inputIndex}`);
			return items;
		},
		getNodeParameter,
		getNode,
		getCredentials,
		getRestApiUrl: (): string => options.restApiUrl ?? 'http://127.0.0.1:5678/rest',
		continueOnFail: (): boolean => options.continueOnFail === true,
		getWorkflowStaticData: (type: string): IDataObject => {
			if (type === 'node') return staticData;
			if (type === 'global') return globalStaticData;
			throw new Error(`The static data type "${type}" is not known`);
		},
		helpers: strict(helpers, 'helpers.'),
	};
	// The implemented members are typed above; the cast only hides the ones the pack's nodes do not use.
	return strict(context, '') as unknown as FakeExecuteContext;
}

/** The input item indices an output item is paired with (n8n's pairedItem is a number, an object or a list). */
export function pairedIndices(item: INodeExecutionData): number[] {
	const paired = item.pairedItem;
	if (paired === undefined) return [];
	const list = Array.isArray(paired) ? paired : [paired];
	return list.map((p) => (typeof p === 'number' ? p : p.item));
}

/** A binary property as n8n keeps it in memory, for input items. */
export function binaryOfBuffer(buffer: Buffer, mimeType: string, fileName?: string): IBinaryData {
	return {
		data: buffer.toString(BINARY_ENCODING),
		mimeType,
		...(fileName ? { fileName } : {}),
		fileSize: prettyBytes(buffer.length),
		bytes: buffer.length,
	};
}
