// Flat config around eslint-plugin-n8n-nodes-base's three legacy rule sets (community for package.json,
// credentials, nodes), applied to the files each set is written for, as n8n-nodes-starter does.
const tsParser = require('@typescript-eslint/parser');
const n8nNodesBase = require('eslint-plugin-n8n-nodes-base');

const plugins = { 'n8n-nodes-base': n8nNodesBase };
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
			// The documentation URL is our README (a full URL), not an n8n docs slug.
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
];
