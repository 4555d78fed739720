#!/usr/bin/env bash
# Every test of the project, in the order a failure is cheapest to find: lint, types, build, unit tests,
# then integration tests (real S3 server, real RabbitMQ) and end-to-end tests (the real n8n running the
# built pack), the compose stack on a Docker engine last (its images are built in the background
# meanwhile). Installs what it needs from the npm registry and Debian's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }

step "install the pack's dependencies"
if [ "${CI:-}" = "true" ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The pinned n8n (a few minutes from the npm registry on a fresh machine, mostly download) installs in the
# background while lint, types and build use the CPU; it is waited for before the tests.
mkdir -p .artifacts
bash testbench/install-n8n.sh > .artifacts/install-n8n.log 2>&1 < /dev/null &
install_pid=$!

step "lint";      npm run --silent lint
step "typecheck"; npm run --silent typecheck
step "build";     npm run --silent build

step "packages from Debian: Chromium (browser test), Docker engine, docker-compose and debootstrap (compose suite)"
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium --version
docker-compose version --short

# The compose suite runs last and waits for this (a run given test paths leaves it to the suite itself).
if [ "$#" -eq 0 ]; then
  step "docker: engine, stand-in images and the project's image, in the background (log: .artifacts/docker-prepare.log)"
  setsid bash testbench/docker/prepare.sh > .artifacts/docker-prepare.log 2>&1 < /dev/null &
  prepare_pid=$!
  # Only what this run started is stopped: the background build, and the engine if it was this run's.
  trap 'kill -- -"$prepare_pid" 2>/dev/null || true; bash testbench/docker/engine.sh stop' EXIT
fi

step "services: RabbitMQ"
bash scripts/ensure-rabbitmq.sh
step "services: PostgreSQL and Redis (n8n's queue mode)"
bash scripts/ensure-queue-services.sh
step "services: n8n (pinned, Node 24, from the npm registry; log: .artifacts/install-n8n.log)"
wait "$install_pid" || { tail -n 40 .artifacts/install-n8n.log; exit 1; }
bash testbench/install-n8n.sh >/dev/null

# --forceExit: a suite that leaves a handle open (a child process of a failed test) must not hold the run.
if [ "$#" -gt 0 ]; then
  step "the tests asked for"
  npx jest --runInBand --ci --forceExit "$@"
  step "all tests passed"
  exit 0
fi
# The compose suite (mostly waiting: the image builds above, then containers starting) runs in a jest of
# its own beside the others, so that the whole run stays well under 45 minutes; its output follows theirs.
# Then the consumer and relay suites again against RabbitMQ 4.0.5 (the broker line docker-compose.yml pins;
# the machine's is 3.x), in a container of this run's own.
step "the compose suite, then the consumer and relay suites on RabbitMQ 4, beside the others (log: .artifacts/compose-suite.log)"
{
  npx jest --runInBand --ci --forceExit test/e2e/compose-stack.test.ts \
    && bash testbench/docker/rabbitmq4.sh npx jest --runInBand --ci --forceExit \
      test/integration/queue-consumer.test.ts test/integration/archive-relay.test.ts
} > .artifacts/compose-suite.log 2>&1 &
compose_pid=$!
step "unit, integration and end-to-end tests"
main_status=0
CR_COMPOSE_SUITE_APART=1 npx jest --runInBand --ci --forceExit || main_status=$?
step "waiting for the compose suite and the RabbitMQ 4 run"
compose_status=0
wait "$compose_pid" || compose_status=$?
cat .artifacts/compose-suite.log
if [ "$main_status" -ne 0 ] || [ "$compose_status" -ne 0 ]; then
  step "FAILED (tests: exit $main_status; compose suite or RabbitMQ 4 run: exit $compose_status)"
  exit 1
fi
step "all tests passed"
