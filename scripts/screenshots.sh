#!/usr/bin/env bash
# The README's pictures (docs/images/), from the real editor and the local pipeline (scripts/screenshots.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
if ! command -v chromium >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
exec node build/scripts/screenshots.js
