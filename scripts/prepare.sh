#!/usr/bin/env bash
# What start.sh, bench.sh, faults.sh and screenshots.sh need before they run: the pack's dependencies, the
# built pack and tools, a RabbitMQ on 127.0.0.1:5672, the pinned n8n, and with --queue PostgreSQL and
# Redis (queue mode). Installs what is missing and skips what is done, one line per step with its time;
# the tools' own output goes to .artifacts/prepare.log and is shown only when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .artifacts
log=.artifacts/prepare.log
: >"$log"
started=$(date +%s)
# step "what" command…: runs it quietly, prints "what … ok (N s)", or its output and stops on failure.
step() {
  local what=$1; shift
  local t0; t0=$(date +%s)
  printf '[prepare] %-52s' "$what"
  if "$@" >>"$log" 2>&1; then
    printf 'ok (%d s)\n' $(( $(date +%s) - t0 ))
  else
    printf 'FAILED (%d s)\n' $(( $(date +%s) - t0 ))
    echo "----- output of that step (.artifacts/prepare.log) -----"
    tail -n 60 "$log"
    exit 1
  fi
}
skip() { printf '[prepare] %-52s%s\n' "$1" "$2"; }

# Newer than every file it was made from (the pack's sources, the build's settings).
up_to_date() {
  local stamp=$1; shift
  [ -f "$stamp" ] && [ -z "$(find "$@" -newer "$stamp" -print -quit 2>/dev/null)" ]
}

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm dependencies (npm ci)" npm ci --no-audit --no-fund --loglevel=error
else
  skip "npm dependencies" "up to date"
fi
sources=(nodes credentials lib package.json tsconfig.json tsconfig.build.json gulpfile.js)
# The stamps live in .artifacts, not in dist/ (which npm publishes) or build/.
if [ -d dist ] && up_to_date .artifacts/built-dist "${sources[@]}"; then
  skip "the pack (dist/)" "up to date"
else
  step "the pack (tsc + icons into dist/)" bash -c 'npm run --silent build && touch .artifacts/built-dist'
fi
if [ -d build ] && up_to_date .artifacts/built-tools "${sources[@]}" testbench scripts tsconfig.tools.json; then
  skip "the local pipeline's tools (build/)" "up to date"
else
  step "the local pipeline's tools (build/)" bash -c 'npx tsc -p tsconfig.tools.json && touch .artifacts/built-tools'
fi
step "RabbitMQ on 127.0.0.1:5672" bash scripts/ensure-rabbitmq.sh
if [ "${1:-}" = "--queue" ]; then
  step "PostgreSQL and Redis (queue mode)" bash scripts/ensure-queue-services.sh
fi

# n8n and Node 24 from the npm registry: minutes the first time, nothing afterwards (cached by lockfile).
if [ -n "$(bash testbench/install-n8n.sh --cached 2>/dev/null)" ]; then
  skip "n8n 2.41.1 (Node 24)" "cached"
else
  printf '[prepare] %s\n' "n8n 2.41.1 and Node 24 from the npm registry: first time only, about 3 to 6 minutes"
  t0=$(date +%s)
  bash testbench/install-n8n.sh >>"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    if kill -0 "$pid" 2>/dev/null; then
      printf '[prepare]   … still installing n8n (%d s; %s)\n' $(( $(date +%s) - t0 )) \
        "$(grep -o '^\[bench\] [a-z]*ing [^(]*' "$log" | tail -n 1 | sed 's/^\[bench\] //; s/ into .*//')"
    fi
  done
  if wait "$pid"; then
    printf '[prepare] %-52sok (%d s)\n' "n8n 2.41.1 (Node 24)" $(( $(date +%s) - t0 ))
  else
    echo "[prepare] installing n8n FAILED; its output (.artifacts/prepare.log):"
    tail -n 60 "$log"
    exit 1
  fi
fi
printf '[prepare] ready in %d s\n' $(( $(date +%s) - started ))
