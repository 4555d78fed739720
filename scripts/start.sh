#!/usr/bin/env bash
# The main job: builds the pack and runs the pipeline locally (S3-compatible server, RabbitMQ, the real
# n8n with the pack and the exported workflows active). Installs what it needs on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
exec node build/scripts/start.js
