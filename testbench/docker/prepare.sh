#!/usr/bin/env bash
# Everything the compose suite needs before its first `up`: the Docker engine (engine.sh), the stand-in
# images (images.sh) and the project's own image built by docker-compose from the Dockerfile, unchanged.
# scripts/test.sh starts this in the background early (it takes minutes: debootstrap, apt, npm ci in the
# image); the suite runs it again, which waits for a run in progress (flock) and then finds it all built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$root/.artifacts"
exec 8>"$root/.artifacts/docker-prepare.lock"
# A run in progress takes minutes; one that holds the lock far longer is stuck: say so instead of waiting on.
flock -w 1500 8 || { echo "[docker] another prepare has held $root/.artifacts/docker-prepare.lock for 25 min" >&2; exit 1; }
t0=$(date +%s)
bash "$here/engine.sh"
bash "$here/images.sh"
# The build needs the required variables set to read the file; none of them goes into the image.
env_file=$(mktemp)
trap 'rm -f "$env_file"' EXIT
printf '%s\n' POSTGRES_PASSWORD=build N8N_ENCRYPTION_KEY=build RABBITMQ_PASSWORD=build \
  MINIO_ROOT_PASSWORD=build CHECKOUT_LINKS_SECRET=build \
  CHECKOUT_SHOP_URL=https://shop.invalid > "$env_file"
echo "[docker] building the project's image (docker-compose build: the Dockerfile as users build it)"
start=$(date +%s)
DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 docker-compose --env-file "$env_file" -p cr-build \
  -f "$root/docker-compose.yml" --project-directory "$root" build -q n8n-init >&2
echo "[docker] project image built in $(( $(date +%s) - start )) s; all ready in $(( $(date +%s) - t0 )) s"
