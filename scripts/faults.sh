#!/usr/bin/env bash
# The fault matrix (results in FAULTS.md). Installs what it needs like the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
npx tsc -p tsconfig.tools.json
bash scripts/ensure-rabbitmq.sh
bash testbench/install-n8n.sh >/dev/null
exec node build/scripts/faults.js
