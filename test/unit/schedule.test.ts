import { nextToRun } from '../../lib/amqp/schedule';

const m = (key: string, notBefore = 0, name = key) => ({ key, notBefore, name });

describe('nextToRun: which held message runs next', () => {
	it('runs the first due message in delivery order', () => {
		expect(nextToRun([m('a'), m('b')], 10)).toEqual({ run: m('a') });
	});

	it('a message waiting for its retry holds back the later messages of its key only', () => {
		const held = [m('a', 100, 'a1'), m('a', 0, 'a2'), m('b', 0, 'b1')];
		expect(nextToRun(held, 10)).toEqual({ run: m('b', 0, 'b1') });
	});

	it('with nothing due it says when the first wait ends; with nothing held, idle', () => {
		expect(nextToRun([m('a', 100), m('a', 0), m('b', 50)], 10)).toEqual({ waitUntil: 50 });
		expect(nextToRun([], 10)).toEqual({ idle: true });
	});
});
