#!/usr/bin/env bash
# Every test of the project, in the order a failure is cheapest to find: lint, types, build, unit tests,
# then integration tests (real S3 server, real RabbitMQ) and end-to-end tests (the real n8n running the
# built pack). Installs what it needs from the npm registry and Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

step "install the pack's dependencies"
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

step "lint";      npm run --silent lint
step "typecheck"; npm run --silent typecheck
step "build";     npm run --silent build

step "services: RabbitMQ"
bash scripts/ensure-rabbitmq.sh
step "browser: Debian's Chromium (for the browser test)"
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
chromium --version
step "services: PostgreSQL and Redis (n8n's queue mode)"
bash scripts/ensure-queue-services.sh
step "docker-compose (Debian's; it checks docker-compose.yml with \`config\`, no Docker engine needed)"
if ! command -v docker-compose >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null
fi
docker-compose version --short
step "services: n8n (pinned, Node 24, from the npm registry)"
bash testbench/install-n8n.sh >/dev/null

step "unit, integration and end-to-end tests"
npx jest --runInBand --ci "$@"
step "all tests passed"
