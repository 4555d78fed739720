#!/usr/bin/env bash
# Benchmarks (results in BENCHMARKS.md). Installs what it needs like the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec node build/scripts/bench.js
