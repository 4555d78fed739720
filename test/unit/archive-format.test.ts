import { amqpUrl, redactedAmqpUrl } from '../../lib/amqp/connection';
import { DEFAULT_TOPOLOGY, queueArguments } from '../../lib/amqp/topology';
import { copySource, detectBodyFormat, monotonicNow } from '../../lib/archive/archive';
import { DEFAULT_LIMITS, messageFor } from '../../lib/archive/relay';
import { limitFields } from '../../nodes/WebhookArchive/actions/common.descriptions';
import { topologyFields } from '../../nodes/shared/topology';

describe('archive helpers', () => {
	it('flags bodies that are not JSON as raw', () => {
		expect(detectBodyFormat(Buffer.from('{"a":1}'))).toBe('json');
		expect(detectBodyFormat(Buffer.from('a=1&b=2'))).toBe('raw');
		expect(detectBodyFormat(Buffer.from([0xff, 0xfe, 0x00]))).toBe('raw');
	});

	it('hands out strictly increasing receive times within one millisecond', () => {
		const a = monotonicNow(5_000_000_000_000);
		const b = monotonicNow(5_000_000_000_000);
		const c = monotonicNow(4_999_999_999_000); // a clock stepping back does not reorder keys
		expect(b).toBe(a + 1);
		expect(c).toBe(b + 1);
	});

	it('encodes CopySource per path segment', () => {
		expect(copySource('b', 'p/pending/2026/x y+z.json')).toBe('b/p/pending/2026/x%20y%2Bz.json');
	});

	it('builds the AMQP URL from fields, escaping credentials, and redacts it for errors', () => {
		const url = amqpUrl({
			host: 'mq',
			port: 5671,
			vhost: '/',
			username: 'u@x',
			password: 'p:w/d',
			tls: true,
		});
		expect(url).toBe('amqps://u%40x:p%3Aw%2Fd@mq:5671/%2F?heartbeat=30');
		expect(redactedAmqpUrl(url)).toBe('amqps://u%40x:***@mq:5671/%2F?heartbeat=30');
		expect(amqpUrl({ url: ' amqp://a:b@h/v ' })).toBe('amqp://a:b@h/v');
	});

	it('declares a quorum queue with dead-lettering, a delivery limit and a single active consumer', () => {
		expect(queueArguments(DEFAULT_TOPOLOGY)).toEqual({
			'x-queue-type': 'quorum',
			'x-dead-letter-exchange': DEFAULT_TOPOLOGY.deadLetterExchange,
			'x-dead-letter-routing-key': DEFAULT_TOPOLOGY.deadLetterQueue,
			'x-delivery-limit': DEFAULT_TOPOLOGY.deliveryLimit,
			'x-single-active-consumer': true,
		});
	});

	it('maps an archived object to a persistent message whose id is the event id', () => {
		const m = messageFor({
			key: 'p/pending/k.json',
			body: Buffer.from('{}'),
			contentType: 'application/json',
			eventId: 'evt_1',
			source: 'stripe',
			sha256: 'abc',
			receivedAt: '2026-11-27T09:00:00.000Z',
			bodyFormat: 'json',
			headers: { 'stripe-signature': 't=1,v1=x' },
		});
		expect(m.messageId).toBe('evt_1');
		expect(m.headers).toMatchObject({
			'x-archive-key': 'p/pending/k.json',
			'x-source': 'stripe',
			'x-header-stripe-signature': 't=1,v1=x',
		});
		expect(m.timestamp).toBe(Date.parse('2026-11-27T09:00:00.000Z'));
	});

	it('shows the same defaults in the node as the library uses', () => {
		const defaults = Object.fromEntries(
			[...topologyFields, ...limitFields].map((p) => [p.name, p.default]),
		);
		expect(defaults).toMatchObject({
			exchange: DEFAULT_TOPOLOGY.exchange,
			routingKey: DEFAULT_TOPOLOGY.routingKey,
			queue: DEFAULT_TOPOLOGY.queue,
			deadLetterExchange: DEFAULT_TOPOLOGY.deadLetterExchange,
			deadLetterQueue: DEFAULT_TOPOLOGY.deadLetterQueue,
			deliveryLimit: DEFAULT_TOPOLOGY.deliveryLimit,
			maxItems: DEFAULT_LIMITS.maxItems,
			maxSeconds: DEFAULT_LIMITS.maxDurationMs / 1000,
			pageSize: DEFAULT_LIMITS.pageSize,
		});
	});
});
