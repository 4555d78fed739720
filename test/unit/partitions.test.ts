import {
	checkPartitions,
	partitionOf,
	partitionQueue,
	partitionQueues,
	routingKeyForKey,
} from '../../lib/amqp/partitions';
import { partitionKeyOf } from '../../lib/checkout/message';
import { DEFAULT_TOPOLOGY } from '../../lib/amqp/topology';
import { normaliseAsaasEvent } from '../../lib/gateways/asaas';
import {
	mercadoPagoProvider,
	notificationUrlFor,
	signMercadoPago,
} from '../../lib/gateways/mercadopago';

describe('partitionOf', () => {
	it('puts a key in one partition, the same in every process, and spreads keys over all partitions', () => {
		const keys = Array.from({ length: 4000 }, (_, i) => `lead:0194f0c2-${i}`);
		for (const n of [2, 4, 7]) {
			const counts = new Array<number>(n).fill(0);
			for (const key of keys) {
				const p = partitionOf(key, n);
				expect(p).toBe(partitionOf(key, n));
				counts[p]++;
			}
			// Within 15 % of an even share: no partition starves or hoards.
			for (const c of counts)
				expect(Math.abs(c - keys.length / n)).toBeLessThan((keys.length / n) * 0.15);
		}
		expect(partitionOf('lead:x', 1)).toBe(0);
		// Fixed vectors: a change of the hash would move leads that are already queued, so it must fail here.
		expect(['lead:a', 'lead:b', 'lead:c', 'lead:d'].map((k) => partitionOf(k, 8))).toEqual([
			2, 0, 6, 5,
		]);
	});

	it('refuses a count that is not a whole number from 1 to 64', () => {
		for (const bad of [0, -1, 1.5, 65, Number.NaN])
			expect(() => checkPartitions(bad)).toThrow(/from 1 to 64/);
		expect(checkPartitions(4)).toBe(4);
	});
});

describe('partition queues', () => {
	it('keeps the one queue of before for N = 1, and names every queue of N > 1 with its N', () => {
		expect(partitionQueue(DEFAULT_TOPOLOGY, 0, 1)).toEqual({
			queue: DEFAULT_TOPOLOGY.queue,
			routingKey: DEFAULT_TOPOLOGY.routingKey,
		});
		expect(partitionQueues(DEFAULT_TOPOLOGY, 2)).toEqual([
			{ queue: 'checkout.events.p0-of-2', routingKey: 'checkout.event.p0-of-2' },
			{ queue: 'checkout.events.p1-of-2', routingKey: 'checkout.event.p1-of-2' },
		]);
	});
});

describe('partitionKeyOf', () => {
	it('reads the lead of a lead capture, of a payment event, of a claim routed by the intake, and of an Asaas claim', () => {
		expect(partitionKeyOf(JSON.stringify({ leadId: 'L1', type: 'lead.captured' }), 'e')).toBe(
			'lead:L1',
		);
		expect(
			partitionKeyOf(JSON.stringify({ eventId: 'evt', leadRef: 'L2', type: 'paid' }), 'e'),
		).toBe('lead:L2');
		expect(
			partitionKeyOf(
				JSON.stringify({
					eventId: 'mp',
					confirm: { paymentId: '9' },
					partitionKey: 'L3',
					provider: 'mercadopago',
				}),
				'e',
			),
		).toBe('lead:L3');
		expect(partitionKeyOf(JSON.stringify({ eventId: 'as', confirm: { leadRef: 'L4' } }), 'e')).toBe(
			'lead:L4',
		);
		// A lead capture and its payment event of one lead go to one partition.
		expect(
			routingKeyForKey('k', 4, () => partitionKeyOf(JSON.stringify({ leadId: 'L5' }), 'a')),
		).toBe(
			routingKeyForKey('k', 4, () =>
				partitionKeyOf(JSON.stringify({ leadRef: 'L5', type: 'paid' }), 'b'),
			),
		);
	});

	it('falls back to the payment of a claim with no lead, then to the event id', () => {
		expect(
			partitionKeyOf(
				JSON.stringify({ eventId: 'mp', confirm: { paymentId: '9' }, provider: 'mercadopago' }),
				'e',
			),
		).toBe('payment:mercadopago:9');
		expect(partitionKeyOf('not json', 'evt_1')).toBe('event:evt_1');
		expect(partitionKeyOf(Buffer.from('[1,2]'), 'evt_2')).toBe('event:evt_2');
		expect(partitionKeyOf(JSON.stringify({ leadRef: '  ' }), 'evt_3')).toBe('event:evt_3');
	});

	it('gets its Mercado Pago lead from the notification URL each checkout is created with', () => {
		const url = notificationUrlFor(
			'https://n8n.shop.example/webhook/checkout/fast/mercadopago?source=mp',
			'lead-123',
		);
		expect(new URL(url).searchParams.get('lead')).toBe('lead-123');
		expect(new URL(url).searchParams.get('source')).toBe('mp');
		const ts = String(Math.floor(Date.now() / 1000));
		const body = JSON.stringify({
			type: 'payment',
			action: 'payment.updated',
			data: { id: '77' },
			date_created: new Date().toISOString(),
		});
		const verify = (lead?: string) =>
			mercadoPagoProvider.verifyWebhook(
				{
					rawBody: Buffer.from(body),
					headers: {
						'x-signature': signMercadoPago('77', 'req-9', ts, 'secret'),
						'x-request-id': 'req-9',
					},
					query: { 'data.id': '77', type: 'payment', ...(lead === undefined ? {} : { lead }) },
				},
				'secret',
				Date.now(),
			);
		const routed = verify('lead-123');
		expect(routed.ok && routed.event).toMatchObject({
			partitionKey: 'lead-123',
			confirm: { paymentId: '77' },
		});
		expect(routed.ok && routed.event.leadRef).toBeUndefined();
		const unrouted = verify();
		expect(unrouted.ok && unrouted.event.partitionKey).toBeUndefined();
		// Something that is not a lead id routes nothing.
		const odd = verify('x'.repeat(200));
		expect(odd.ok && odd.event.partitionKey).toBeUndefined();
	});

	it('routes an Asaas claim by the lead its payment names', () => {
		const event = normaliseAsaasEvent({
			id: 'evt_as',
			event: 'PAYMENT_RECEIVED',
			dateCreated: '2026-12-01 10:00:00',
			payment: { id: 'pay_1', value: 10, externalReference: 'L9' },
		});
		expect(partitionKeyOf(JSON.stringify(event), event.eventId)).toBe('lead:L9');
	});
});
