// Three projects: unit (pure modules, no I/O), integration (real S3 server and real RabbitMQ, child
// processes), e2e (the real n8n running the built pack; the compose stack on a Docker engine). One jest run
// takes them in that order, the compose suite last (testbench/jestSequencer.js).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
	testSequencer: '<rootDir>/testbench/jestSequencer.js',
	projects: [
		{
			displayName: 'unit',
			testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
			transform: { '^.+\\.ts$': tsJest },
			testEnvironment: 'node',
		},
		{
			displayName: 'integration',
			testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
			transform: { '^.+\\.ts$': tsJest },
			testEnvironment: 'node',
			slowTestThreshold: 60,
		},
		{
			displayName: 'e2e',
			testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
			// scripts/test.sh runs the compose suite in a jest of its own, beside this one.
			testPathIgnorePatterns:
				process.env.CR_COMPOSE_SUITE_APART === '1' ? ['/compose-stack\\.test\\.ts$'] : [],
			transform: { '^.+\\.ts$': tsJest },
			testEnvironment: 'node',
			slowTestThreshold: 120,
		},
	],
};
