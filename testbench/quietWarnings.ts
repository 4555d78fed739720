/**
 * The local pipeline's and the scripts' own process runs on the machine's Node. The AWS SDK warns there
 * that its releases from 2027 will need Node 22: a notice for this repository's maintainers (the bench's
 * n8n runs on Node 24), not for a newcomer trying the pipeline, so it is left out of their screen.
 * Every other warning still shows.
 */
const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
	const text = typeof warning === 'string' ? warning : warning.message;
	if (/NodeVersionSupportWarning|The AWS SDK for JavaScript \(v3\)/.test(text)) return;
	emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

export {};
