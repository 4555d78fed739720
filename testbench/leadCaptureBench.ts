import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Archive } from '../lib/archive/archive';
import { E2eStack, type StackParts } from './e2eStack';
import type { N8nInstance } from './n8n';
import { freePort } from './ports';
import type { S3Server } from './s3';
import type { GatewayStandIn } from './standins/gateways';
import { exportedWorkflowForTest } from './workflows';

/** The exported lead capture workflow in a real n8n, with the S3 server and the gateway stand-ins. */
export interface LeadCaptureBench {
	n8n: N8nInstance;
	s3: S3Server;
	gateways: GatewayStandIn;
	gatewayPort: number;
	archive: S3Archive;
	restartGateways(): Promise<void>;
	/**
	 * Files of 1 MiB or more that n8n wrote since `sinceMs`, in its user folder (binary data) or its
	 * temporary folder (multipart uploads), its database and caches aside: where a refused upload would be kept.
	 */
	largeFilesSince(sinceMs: number): string[];
	stop(): Promise<void>;
}

export async function startLeadCaptureBench(
	extraWorkflows: string[] = [],
	options: { inspectPort?: number; env?: Record<string, string> } = {},
): Promise<LeadCaptureBench> {
	// The gateways' port stays the same when a test starts them again after an outage.
	const gatewayPort = await freePort();
	const parts: StackParts = {
		s3: { bucket: 'leads', prefix: 'leads' },
		gateways: { port: gatewayPort },
		links: 'ownPayUrl',
	};
	// n8n's own temporary folder (its multipart parser writes uploads there), to look into.
	const n8nTmp = mkdtempSync(join(tmpdir(), 'cr-n8n-tmp-'));
	const stack = await E2eStack.start({
		...parts,
		inspectPort: options.inspectPort,
		env: { TMPDIR: n8nTmp, ...options.env },
		workflows: [
			exportedWorkflowForTest('checkout-lead-capture.json', { prefix: 'leads' }),
			exportedWorkflowForTest('checkout-lead-capture-fast.json', { prefix: 'leads' }),
			...extraWorkflows,
		],
		// Both lead captures answer an empty post with 422 once their webhooks are registered.
		ready: async (instance) => {
			for (const path of ['checkout/lead', 'checkout/lead/fast']) {
				const res = await fetch(instance.webhookUrl(path), {
					method: 'POST',
					headers: { accept: 'application/json' },
				});
				if (res.status !== 422) return false;
			}
			return true;
		},
	});
	const { n8n } = stack;
	return {
		n8n,
		s3: stack.s3,
		get gateways() {
			return stack.gateways;
		},
		gatewayPort,
		archive: stack.archive,
		largeFilesSince(sinceMs: number) {
			return [n8n.userFolder, n8nTmp].flatMap((dir) =>
				filesUnder(dir).filter((f) => {
					// n8n's database and its node-types cache are its own files, not a request's.
					if (/\.sqlite|[/\\]\.cache[/\\]/.test(f)) return false;
					const st = statSync(f);
					return st.size >= 1024 * 1024 && st.mtimeMs >= sinceMs - 1000;
				}),
			);
		},
		async restartGateways() {
			await stack.restartGateways();
		},
		async stop() {
			await stack.stop();
			rmSync(n8nTmp, { recursive: true, force: true });
		},
	};
}

/** Every file under a folder (recursively); none when it is gone. */
function filesUnder(dir: string): string[] {
	try {
		return readdirSync(dir, { withFileTypes: true, recursive: true })
			.filter((e) => e.isFile())
			.map((e) => join(e.parentPath, e.name));
	} catch {
		return [];
	}
}
