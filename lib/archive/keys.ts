/**
 * Object key layout of the archive. Pure functions, no I/O.
 *
 *   {prefix}/pending/{yyyy}/{mm}/{dd}/{hh}/{received-at ms, 13 digits}.{nonce}-{event id}.json
 *   {prefix}/relayed/…same tail…
 *   {prefix}/ids/{event id}            one small marker per event id (duplicate detection)
 *   {prefix}/locks/relay.json          the relay lease
 *   {prefix}/closed/{lead id}          the lead's checkout was paid: its pay links open nothing any more
 *
 * Keys sort lexicographically in the order events were received, because every time component is
 * zero-padded and UTC. The tail after the state folder is the same in pending/ and relayed/, so moving
 * an object keeps its place in time.
 */
import { createHash } from 'node:crypto';

export type ArchiveState = 'pending' | 'relayed';

const SAFE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const MS_DIGITS = 13;

/** An event id as it may appear in a key: kept when plain, hashed otherwise (slashes, unicode, length). */
export function keySafeEventId(eventId: string): string {
	if (SAFE_ID.test(eventId) && eventId !== '.' && eventId !== '..') return eventId;
	return 'h-' + createHash('sha256').update(eventId, 'utf8').digest('hex').slice(0, 40);
}

export function normalisePrefix(prefix: string): string {
	return prefix.replace(/^\/+|\/+$/g, '');
}

function join(prefix: string, rest: string): string {
	const p = normalisePrefix(prefix);
	return p ? `${p}/${rest}` : rest;
}

function pad(n: number, width: number): string {
	return String(n).padStart(width, '0');
}

/** The time folders and file stem for a receive time: `yyyy/mm/dd/hh/{ms}`. */
export function timePath(receivedAtMs: number): string {
	if (!Number.isSafeInteger(receivedAtMs) || receivedAtMs < 0) {
		throw new RangeError(`receivedAtMs must be a non-negative integer, got ${receivedAtMs}`);
	}
	const d = new Date(receivedAtMs);
	return [
		pad(d.getUTCFullYear(), 4),
		pad(d.getUTCMonth() + 1, 2),
		pad(d.getUTCDate(), 2),
		pad(d.getUTCHours(), 2),
		pad(receivedAtMs, MS_DIGITS),
	].join('/');
}

export function stateRoot(prefix: string, state: ArchiveState): string {
	return join(prefix, `${state}/`);
}

/**
 * The nonce makes a key unique to the write that made it: two processes storing the same event in the
 * same millisecond must not write one key, or the one that loses the id marker would delete the winner's
 * object as "its" duplicate. Keys written before the nonce existed (`{ms}-{id}.json`) still parse.
 */
export function objectKey(
	prefix: string,
	state: ArchiveState,
	receivedAtMs: number,
	eventId: string,
	nonce?: string,
): string {
	if (nonce !== undefined && !/^[0-9a-z]{4,16}$/.test(nonce))
		throw new RangeError(`A key nonce is 4 to 16 lower-case letters or digits, got "${nonce}"`);
	return join(
		prefix,
		`${state}/${timePath(receivedAtMs)}${nonce ? `.${nonce}` : ''}-${keySafeEventId(eventId)}.json`,
	);
}

export function idMarkerKey(prefix: string, eventId: string): string {
	return join(prefix, `ids/${keySafeEventId(eventId)}`);
}

/** Where the id markers of every revision of a lead (`{lead id}.{revision}`) and of the lead id itself sort. */
export function idMarkerPrefix(prefix: string, eventIdStem: string): string {
	return join(prefix, `ids/${keySafeEventId(eventIdStem)}`);
}

export function closedMarkerKey(prefix: string, leadId: string): string {
	return join(prefix, `closed/${keySafeEventId(leadId)}`);
}

export function leaseKey(prefix: string, name: string): string {
	return join(prefix, `locks/${name}.json`);
}

export interface ParsedKey {
	state: ArchiveState;
	receivedAtMs: number;
	/** The key-safe form of the event id (the original is in the object's metadata). */
	safeEventId: string;
	/** Everything after `{state}/`: identical in pending/ and relayed/. */
	tail: string;
}

const KEY_TAIL =
	/^(pending|relayed)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/(\d{13})(?:\.[0-9a-z]{4,16})?-(.+)\.json$/;

export function parseKey(prefix: string, key: string): ParsedKey | undefined {
	const p = normalisePrefix(prefix);
	const rest = p ? (key.startsWith(p + '/') ? key.slice(p.length + 1) : undefined) : key;
	if (rest === undefined) return undefined;
	const m = KEY_TAIL.exec(rest);
	if (!m) return undefined;
	return {
		state: m[1] as ArchiveState,
		receivedAtMs: Number(m[6]),
		safeEventId: m[7],
		tail: rest.slice(m[1].length + 1),
	};
}

/** The same object's key in another state folder. */
export function moveKey(prefix: string, key: string, to: ArchiveState): string {
	const parsed = parseKey(prefix, key);
	if (!parsed) throw new Error(`Not an archive object key: ${key}`);
	return join(prefix, `${to}/${parsed.tail}`);
}

/**
 * A StartAfter value for listing a state folder from time `ms` on: the key stem `{state}/{time path}` is a
 * strict prefix of every key received at `ms` (so it sorts just before them) and sorts after every key
 * received earlier (same-length zero-padded digits, or an earlier hour folder).
 */
export function startAfterForTime(prefix: string, state: ArchiveState, ms: number): string {
	return join(prefix, `${state}/${timePath(ms)}`);
}
