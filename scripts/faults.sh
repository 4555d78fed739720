#!/usr/bin/env bash
# The fault matrix (results in RELIABILITY.md). Installs what it needs like the other scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh --queue
exec node build/scripts/faults.js
