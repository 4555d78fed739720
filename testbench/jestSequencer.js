/**
 * The order of the test files in one jest run: unit, then integration, then end-to-end (a failure is
 * cheapest to find in that order), jest's own order within each, and the compose suite last when it is in
 * the run (`npx jest` alone): the images it needs are built in the background meanwhile. scripts/test.sh
 * runs it in a jest of its own beside the others instead.
 */
'use strict';
const Sequencer = require('@jest/test-sequencer').default;

const rank = (path) => {
	if (/[\\/]compose-stack\.test\.ts$/.test(path)) return 3;
	if (/[\\/]test[\\/]unit[\\/]/.test(path)) return 0;
	if (/[\\/]test[\\/]integration[\\/]/.test(path)) return 1;
	return 2;
};

class ProjectOrderSequencer extends Sequencer {
	sort(tests) {
		const sorted = super.sort(tests);
		return [...sorted].sort((a, b) => rank(a.path) - rank(b.path));
	}
}

module.exports = ProjectOrderSequencer;
