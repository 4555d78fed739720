#!/usr/bin/env node
/**
 * The compose health check of n8n's main and webhook processor: healthy once n8n is ready AND the shipped
 * workflows' webhooks are registered. n8n's own /healthz answers as soon as its server listens, before the
 * workflows are activated: a form posted then got 404 "webhook is not registered", and the workers and the
 * webhook processor, which wait for a healthy main, started too early.
 *
 * A webhook is asked for with a CORS pre-flight (OPTIONS with an Origin): n8n answers it from its webhook
 * registry, 204 when the path is registered and 404 when not, without starting an execution or writing a
 * log line. CHECKOUT_HEALTH_WEBHOOKS lists the paths (comma-separated) for a shop that renamed them.
 */
'use strict';

const port = process.env.N8N_PORT || '5678';
const base = `http://127.0.0.1:${port}`;
const paths = (
	process.env.CHECKOUT_HEALTH_WEBHOOKS ||
	'checkout/lead,checkout/lead/fast,checkout/pay,checkout/fast/stripe,checkout/fast/mercadopago'
)
	.split(',')
	.map((p) => p.trim().replace(/^\/+/, ''))
	.filter(Boolean);

async function main() {
	const ready = await fetch(`${base}/healthz/readiness`);
	if (!ready.ok) throw new Error(`n8n is not ready (${ready.status})`);
	for (const path of paths) {
		const res = await fetch(`${base}/webhook/${path}`, {
			method: 'OPTIONS',
			headers: { origin: 'http://healthcheck.invalid' },
		});
		if (res.status !== 204)
			throw new Error(`webhook ${path} is not registered yet (${res.status})`);
	}
}

main().then(
	() => process.exit(0),
	(error) => {
		console.error(error instanceof Error ? error.message : String(error));
		process.exit(1);
	},
);
