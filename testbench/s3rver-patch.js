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
 */
'use strict';

const crypto = require('crypto');
const path = require('path');
const fs = require('fs-extra');
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

FilesystemStore.prototype.putObject = async function putObject(object) {
	const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
	// The body is read once, so that a second write after a vanished folder has it all again.
	const body = await bodyOf(object.content);
	const md5 = crypto.createHash('md5').update(body).digest('hex');
	await inFolder(path.dirname(objectPath), async () => {
		await fs.writeFile(objectPath, body);
		await this.putMetadata(object.bucket, object.key, object.metadata, md5);
	});
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
	const destination = path.dirname(this.getResourcePath(destBucket, destKey, 'object'));
	return inFolder(destination, () =>
		copyObject.call(this, srcBucket, srcKey, destBucket, destKey, replacementMetadata),
	);
};

FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
	await Promise.all(
		['object', 'object.md5', 'metadata.json'].map((resource) =>
			fs.unlink(this.getResourcePath(bucket, key, resource)).catch((err) => {
				if (err.code !== 'ENOENT') throw err;
			}),
		),
	);
	// Remove the folders the key leaves empty; one that is gone or no longer empty is another request's.
	const bucketPath = this.getBucketPath(bucket);
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
};
