#!/usr/bin/env bash
# What start.sh, bench.sh and faults.sh need before they run: the pack's dependencies, the built pack and
# tools, a RabbitMQ on 127.0.0.1:5672, PostgreSQL and Redis (queue mode), and the pinned n8n. Installs what is missing; quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci --no-audit --no-fund; fi
npm run --silent build
npx tsc -p tsconfig.tools.json
bash scripts/ensure-rabbitmq.sh
bash scripts/ensure-queue-services.sh
bash testbench/install-n8n.sh >/dev/null
