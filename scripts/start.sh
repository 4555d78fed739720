#!/usr/bin/env bash
# The main job: builds the pack and runs the pipeline locally (S3-compatible server, RabbitMQ, the real
# n8n with the pack and the exported workflows active). Installs what it needs on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
npx tsc -p tsconfig.tools.json
bash scripts/ensure-rabbitmq.sh
bash testbench/install-n8n.sh >/dev/null
exec node build/scripts/start.js
