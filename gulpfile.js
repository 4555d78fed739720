// Copies what tsc does not: node and credential icons (light and dark SVG) and codex *.node.json files.
const { src, dest } = require('gulp');

function buildAssets() {
	return src(['nodes/**/*.svg', 'nodes/**/*.node.json', 'credentials/**/*.svg'], {
		base: '.',
	}).pipe(dest('dist'));
}

exports['build:assets'] = buildAssets;
