#!/usr/bin/env bash
# Benchmarks (results in BENCHMARKS.md). Installs what it needs like the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --queue
# nginx in front of the webhook processors (the queue-mode intake table); the bench runs its own instance.
if ! command -v nginx >/dev/null 2>&1; then
  echo "[bench] installing nginx from Debian's packages"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
exec node build/scripts/bench.js
