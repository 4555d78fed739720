// Flat config around eslint-plugin-n8n-nodes-base's three legacy rule sets (community for package.json,
// credentials, nodes), applied to the files each set is written for, as n8n-nodes-starter does.
const { readdirSync } = require('node:fs');
const tsParser = require('@typescript-eslint/parser');
const n8nNodesBase = require('eslint-plugin-n8n-nodes-base');

const plugins = { 'n8n-nodes-base': n8nNodesBase };

// The import layers: nodes/<Node> → nodes/shared → lib, never sideways between node folders, never up.
const nodeFolders = readdirSync(`${__dirname}/nodes`, { withFileTypes: true })
	.filter((d) => d.isDirectory() && d.name !== 'shared')
	.map((d) => d.name);
const importsOf = (folders) => folders.flatMap((name) => [`**/${name}`, `**/${name}/**`]);
const layerRule = (patterns, message) => ({
	'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
});
const importLayers = [
	...nodeFolders.map((name) => ({
		files: [`nodes/${name}/**/*.ts`],
		rules: layerRule(
			importsOf(nodeFolders.filter((other) => other !== name)),
			'A node folder imports only its own files, nodes/shared/ and lib/: move what two nodes need to nodes/shared/.',
		),
	})),
	{
		files: ['nodes/shared/**/*.ts'],
		rules: layerRule(
			importsOf(nodeFolders),
			'nodes/shared/ is below every node: it imports only lib/ and itself.',
		),
	},
	{
		files: ['lib/**/*.ts'],
		rules: layerRule(
			[
				'n8n-workflow',
				'n8n-core',
				'**/nodes/**',
				'**/credentials/**',
				'**/testbench/**',
				'**/test/**',
			],
			'lib/ is the domain without n8n: it imports only lib/ and its npm dependencies.',
		),
	},
	{
		files: ['scripts/**/*.ts', 'testbench/**/*.ts'],
		rules: layerRule(
			['**/test/**'],
			'Scripts and the test bench do not import tests: shared helpers live in testbench/.',
		),
	},
];
const tsLanguage = { parser: tsParser, parserOptions: { sourceType: 'module' } };

module.exports = [
	{ ignores: ['dist/**', 'build/**', 'node_modules/**', '**/node_modules/**', '.artifacts/**'] },
	{
		files: ['package.json'],
		languageOptions: { parser: tsParser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins,
		rules: {
			...n8nNodesBase.configs.community.rules,
		},
	},
	{
		files: ['credentials/**/*.ts'],
		languageOptions: tsLanguage,
		plugins,
		rules: {
			...n8nNodesBase.configs.credentials.rules,
			// The documentation URL is a page of our docs/ on GitHub (a full URL), not an n8n docs slug.
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		languageOptions: tsLanguage,
		plugins,
		rules: {
			...n8nNodesBase.configs.nodes.rules,
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
		},
	},
	{
		files: ['**/*.ts'],
		languageOptions: tsLanguage,
		rules: {
			'no-console': 'off',
			'no-debugger': 'error',
			eqeqeq: ['error', 'always'],
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'lib/**/*.ts'],
		rules: { 'no-console': 'error' },
	},
	...importLayers,
];
