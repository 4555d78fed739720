/**
 * The fault matrix judges a run only once its queue is drained (testbench/faultMatrix.ts). Drained means
 * no message ready and none held by a consumer: the Checkout Queue Trigger holds up to 32 delivered
 * messages unacked while it works through them, and an AMQP queue.declare (checkQueue) counts only the
 * ready ones. On that count a run was once judged with messages still in the trigger's window, and their
 * events were reported as never applied. The bench's node counts both (rabbitmqctl).
 */
import { declareTopology } from '../../lib/amqp/topology';
import { connectBroker, publishConfirmed, uniqueTopology } from '../../testbench/rabbitmq';
import { startRabbitNode, type RabbitNode } from '../../testbench/rabbitmqNode';
import { waitFor } from '../../testbench/ports';

jest.setTimeout(180_000);

let node: RabbitNode;
beforeAll(async () => {
	node = await startRabbitNode('depth');
});
afterAll(async () => {
	await node?.destroy();
});

it('counts the messages a consumer holds unacked, which checkQueue leaves out, until they are acked', async () => {
	const broker = await connectBroker(node.url);
	try {
		const t = uniqueTopology('depth');
		await declareTopology(broker, t);
		await publishConfirmed(
			broker,
			t,
			Array.from({ length: 10 }, (_, i) => ({ body: { i }, messageId: `m${i}` })),
		);
		// The node refreshes its counts every few seconds: each count is waited for.
		const depthBecomes = async (ready: number, unacked: number) =>
			await waitFor(
				`${ready} ready and ${unacked} unacked`,
				async () => {
					const depth = await node.queueDepth(t.queue);
					return depth.ready === ready && depth.unacked === unacked ? true : undefined;
				},
				{ timeoutMs: 20_000, intervalMs: 250 },
			);
		await depthBecomes(10, 0);

		// A consumer with a window of 4 that has not acked anything yet (a trigger at work).
		const consumer = await connectBroker(node.url);
		const channel = await consumer.createChannel();
		await channel.prefetch(4);
		const held: Array<Parameters<typeof channel.ack>[0]> = [];
		await channel.consume(t.queue, (message) => {
			if (message) held.push(message);
		});
		await waitFor('the window to fill', async () => (held.length === 4 ? true : undefined), {
			timeoutMs: 10_000,
			intervalMs: 50,
		});
		const check = await broker.createChannel();
		expect((await check.checkQueue(t.queue)).messageCount).toBe(6);
		await depthBecomes(6, 4);

		// Work through them, four at a time: the last two are delivered and held while checkQueue already
		// says the queue is empty; the node still counts them, and only once they are acked is it drained.
		const ackHeldAndReceive = async (count: number) => {
			for (const message of held.splice(0)) channel.ack(message);
			await waitFor(`${count} delivered`, async () => (held.length === count ? true : undefined), {
				timeoutMs: 10_000,
				intervalMs: 50,
			});
		};
		await ackHeldAndReceive(4);
		await depthBecomes(2, 4);
		await ackHeldAndReceive(2);
		expect((await check.checkQueue(t.queue)).messageCount).toBe(0);
		await depthBecomes(0, 2);
		for (const message of held.splice(0)) channel.ack(message);
		await depthBecomes(0, 0);
		await consumer.close();
	} finally {
		await broker.close().catch(() => undefined);
	}
});
