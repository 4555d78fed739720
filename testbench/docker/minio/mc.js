#!/usr/bin/env node
// The MinIO client commands that docker-compose.yml runs, against the S3 stand-in: `mc ready ALIAS`,
// `mc alias set ALIAS URL USER PASSWORD`, `mc mb [--ignore-existing] ALIAS/BUCKET`. Anything else fails
// loudly, so that a compose change that needs more is seen.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const config = path.join(os.homedir(), '.mc-standin.json');
const aliases = () => {
	try {
		return JSON.parse(fs.readFileSync(config, 'utf8'));
	} catch {
		return { local: 'http://127.0.0.1:9000' };
	}
};
const urlOf = (alias) => {
	const url = aliases()[alias];
	if (!url) throw new Error(`mc stand-in: unknown alias ${alias}`);
	return url.replace(/\/+$/, '');
};

async function main(argv) {
	const [command, ...rest] = argv;
	if (command === 'ready') {
		const res = await fetch(`${urlOf(rest[0])}/`);
		if (res.status >= 500) throw new Error(`not ready: ${res.status}`);
		return;
	}
	if (command === 'alias' && rest[0] === 'set') {
		const [, alias, url] = rest;
		fs.writeFileSync(config, JSON.stringify({ ...aliases(), [alias]: url }));
		console.log(`Added \`${alias}\` successfully.`);
		return;
	}
	if (command === 'mb') {
		const ignoreExisting = rest.includes('--ignore-existing') || rest.includes('-p');
		const target = rest.filter((a) => !a.startsWith('-'))[0] ?? '';
		const [alias, bucket] = target.split('/');
		const res = await fetch(`${urlOf(alias)}/${bucket}`, { method: 'PUT' });
		const body = await res.text();
		if (res.ok) return console.log(`Bucket created successfully \`${target}\`.`);
		if (ignoreExisting && /BucketAlready/.test(body))
			return console.log(`Bucket \`${target}\` already exists.`);
		throw new Error(`mb ${target}: ${res.status} ${body.slice(0, 200)}`);
	}
	throw new Error(`mc stand-in: "${argv.join(' ')}" is not supported (only ready, alias set, mb)`);
}

main(process.argv.slice(2)).catch((error) => {
	console.error(error instanceof Error ? error.message : String(error));
	process.exit(1);
});
