/**
 * Preloaded (`node -r`) into the bench's s3rver 3.7.1 process: closes a race of its filesystem store that
 * made the server crash under concurrent traffic, and that no real S3 has.
 *
 * s3rver keeps `a/b/key` as files in the folder `a/b/`, and a DELETE removes that folder once it is empty.
 * A PUT into the same folder at the same moment runs `mkdirp` and then opens its file; when the DELETE's
 * `rmdir` lands between the two, the open fails with ENOENT on a write stream that has no error listener,
 * and the whole server exits ("Unhandled 'error' event"). For a Buffer body s3rver has by then already
 * answered the write as done, so the object would be lost without an error. The archive does exactly this
 * all day (the relay moves the last pending object of a folder while the intake writes the next one): the
 * fault matrix and CI saw the crash. Reproduced in a few rounds of PUT + DELETE in one folder.
 *
 * The patch: a write is done only when its file is flushed, any write error fails the request (500, which
 * S3 clients retry), and a write that finds its folder removed (or made at the same instant by another
 * request, which fs-extra's mkdirp answers with EEXIST) makes the folder again and writes once more.
 * The folder clean-up of DELETE tolerates a folder that another request removed or filled meanwhile.
 *
 * It also teaches the server conditional writes as AWS S3 documents them for PutObject (and CopyObject's
 * destination), which AWS S3 (since 2024) and MinIO honour and s3rver ignores; the pack's claims and
 * leases (lib/s3/conditional.ts) rely on them, checked by test/integration/s3-conditional-writes.test.ts:
 *  - `If-None-Match: *` writes only when the key does not exist, else 412 PreconditionFailed;
 *  - `If-Match: <etag>` writes only when the object's ETag is that one: 412 PreconditionFailed when it
 *    differs, 404 NoSuchKey when there is no object;
 *  - a conditional write that meets another write of the same key still under way gets 409
 *    ConditionalRequestConflict ("retry"), as AWS answers a conflicting operation; of concurrent creates
 *    exactly one wins and every other gets 412 or 409;
 *  - the ETag is the MD5 of the bytes (as on AWS and MinIO for a plain single-part PUT), so it changes on
 *    every write whose bytes differ.
 * Reads and writes of one key are serialised in the server (a GET reads the object whole under the key's
 * lock), so that no GET sees the bytes of one write with the ETag of another: AWS S3 is strongly
 * consistent per object, the file store was not.
 */
'use strict';

const { AsyncLocalStorage } = require('async_hooks');
const crypto = require('crypto');
const path = require('path');
const { PassThrough } = require('stream');
const fs = require('fs-extra');
const objectController = require('s3rver/lib/controllers/object');
const S3Error = require('s3rver/lib/models/error');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const ATTEMPTS = 5;

/** Runs `write` after making `folder`, again while the folder vanishes under it (a concurrent DELETE). */
async function inFolder(folder, write) {
	for (let attempt = 1; ; attempt++) {
		try {
			// mkdirp races too: ENOENT when a DELETE removes the parent folders it is making, EEXIST when
			// another request makes the same folder between fs-extra's check and its mkdir.
			await fs.mkdirp(folder);
			return await write();
		} catch (err) {
			if ((err.code !== 'ENOENT' && err.code !== 'EEXIST') || attempt >= ATTEMPTS) throw err;
		}
	}
}

function bodyOf(content) {
	if (Buffer.isBuffer(content)) return Promise.resolve(content);
	return new Promise((resolve, reject) => {
		const chunks = [];
		content.on('data', (chunk) => chunks.push(Buffer.from(chunk)));
		content.on('error', reject);
		content.on('end', () => resolve(Buffer.concat(chunks)));
	});
}

// ---- one key at a time ----

/** Per key: the tail of its queue of operations, and how many writes are under way or waiting. */
const keys = new Map();

function keyOf(bucket, key) {
	return `${bucket}/${key}`;
}

/** Runs `operation` once every earlier operation on these keys has ended (locks taken in a fixed order). */
async function withKeys(ids, operation, { write = false } = {}) {
	const sorted = [...new Set(ids)].sort();
	const entries = sorted.map((id) => {
		let entry = keys.get(id);
		if (!entry) keys.set(id, (entry = { tail: Promise.resolve(), writes: 0, users: 0 }));
		entry.users++;
		if (write) entry.writes++;
		return entry;
	});
	const released = [];
	try {
		for (const entry of entries) {
			const before = entry.tail;
			let release;
			entry.tail = new Promise((resolve) => (release = resolve));
			released.push(release);
			await before;
		}
		return await operation();
	} finally {
		for (const release of released) release();
		sorted.forEach((id, i) => {
			const entry = entries[i];
			entry.users--;
			if (write) entry.writes--;
			if (entry.users === 0) keys.delete(id);
		});
	}
}

/** Whether another write of this key is under way or waiting (a conditional write then gets 409). */
function writeUnderWay(id) {
	const entry = keys.get(id);
	return entry !== undefined && entry.writes > 0;
}

// ---- conditional writes ----

/** The conditions of the request being handled, from its headers (the controller wrappers below). */
const requestConditions = new AsyncLocalStorage();

function conditionsOf(headers) {
	const ifMatch = headers['if-match'];
	const ifNoneMatch = headers['if-none-match'];
	if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*')
		throw new S3Error(
			'NotImplemented',
			'A header you provided implies functionality that is not implemented',
			{ Header: 'If-None-Match' },
		);
	if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
	return {
		ifMatch: ifMatch === undefined ? undefined : ifMatch.trim(),
		ifNoneMatch: ifNoneMatch !== undefined,
	};
}

function conflict(key) {
	const error = new S3Error(
		'ConditionalRequestConflict',
		'A conflicting operation occurred. If using PutObject you can retry the request.',
		{ Key: key },
	);
	error.status = 409; // not in s3rver's table of codes
	error.expose = true;
	return error;
}

const unquote = (etag) => String(etag).replace(/^W\//, '').replace(/^"|"$/g, '');

/** Throws what S3 answers when the object at `bucket/key` does not meet the request's conditions. */
async function checkConditions(store, bucket, key, conditions) {
	if (!conditions) return;
	let etag;
	try {
		etag = (await store.getMetadata(bucket, key)).etag;
	} catch (err) {
		if (err.code !== 'ENOENT') throw err;
	}
	if (conditions.ifNoneMatch && etag !== undefined)
		throw new S3Error(
			'PreconditionFailed',
			'At least one of the pre-conditions you specified did not hold',
			{
				Condition: 'If-None-Match',
			},
		);
	if (conditions.ifMatch !== undefined) {
		if (etag === undefined)
			throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
		if (conditions.ifMatch !== '*' && unquote(conditions.ifMatch) !== unquote(etag))
			throw new S3Error(
				'PreconditionFailed',
				'At least one of the pre-conditions you specified did not hold',
				{
					Condition: 'If-Match',
				},
			);
	}
}

// S3RVER_CONDITIONAL_WRITES=off: a store that ignores the conditions (s3rver as published), for tests of
// what the pack says and does on such a store.
const honourConditions = process.env.S3RVER_CONDITIONAL_WRITES !== 'off';

for (const name of honourConditions ? ['putObject', 'putObjectCopy'] : []) {
	const handler = objectController[name];
	objectController[name] = async function (ctx) {
		const conditions = conditionsOf(ctx.headers);
		if (conditions && writeUnderWay(keyOf(ctx.params.bucket, ctx.params.key)))
			throw conflict(ctx.params.key);
		return await requestConditions.run(conditions, () => handler.call(this, ctx));
	};
}

// ---- the store's operations, one key at a time ----

FilesystemStore.prototype.putObject = async function putObject(object) {
	const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
	const conditions = requestConditions.getStore();
	// The body is read once, before the key is taken, so that a slow sender holds no other request up,
	// and so that a second write after a vanished folder has it all again.
	const body = await bodyOf(object.content);
	const md5 = crypto.createHash('md5').update(body).digest('hex');
	await withKeys(
		[keyOf(object.bucket, object.key)],
		async () => {
			await checkConditions(this, object.bucket, object.key, conditions);
			await inFolder(path.dirname(objectPath), async () => {
				await fs.writeFile(objectPath, body);
				await this.putMetadata(object.bucket, object.key, object.metadata, md5);
			});
		},
		{ write: true },
	);
	return { size: body.length, md5 };
};

const copyObject = FilesystemStore.prototype.copyObject;
FilesystemStore.prototype.copyObject = async function (
	srcBucket,
	srcKey,
	destBucket,
	destKey,
	replacementMetadata,
) {
	const conditions = requestConditions.getStore();
	const destination = path.dirname(this.getResourcePath(destBucket, destKey, 'object'));
	return await withKeys(
		[keyOf(srcBucket, srcKey), keyOf(destBucket, destKey)],
		async () => {
			await checkConditions(this, destBucket, destKey, conditions);
			return await inFolder(destination, () =>
				copyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacementMetadata),
			);
		},
		{ write: true },
	);
};

const getObject = FilesystemStore.prototype.getObject;
/** Reads the object whole under its key's lock: a stream opened after it would read a later write's bytes. */
FilesystemStore.prototype.getObject = async function (bucket, key, options) {
	return await withKeys([keyOf(bucket, key)], async () => {
		const object = await getObject.call(this, bucket, key, options);
		if (object && object.content) {
			const bytes = await bodyOf(object.content);
			object.content = new PassThrough();
			object.content.end(bytes);
		}
		return object;
	});
};

FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
	await withKeys([keyOf(bucket, key)], () => deleteUnlocked(this, bucket, key), { write: true });
};

async function deleteUnlocked(store, bucket, key) {
	await Promise.all(
		['object', 'object.md5', 'metadata.json'].map((resource) =>
			fs.unlink(store.getResourcePath(bucket, key, resource)).catch((err) => {
				if (err.code !== 'ENOENT') throw err;
			}),
		),
	);
	// Remove the folders the key leaves empty; one that is gone or no longer empty is another request's.
	const bucketPath = store.getBucketPath(bucket);
	const parts = FilesystemStore.encodeKeyPath(key).split('/');
	parts.pop();
	while (parts.length) {
		try {
			await fs.rmdir(path.join(bucketPath, ...parts));
		} catch (err) {
			if (err.code === 'ENOENT' || err.code === 'ENOTEMPTY' || err.code === 'EEXIST') return;
			throw err;
		}
		parts.pop();
	}
}
