#!/usr/bin/env bash
# Makes sure a Docker engine answers, for the compose suite: Debian's docker.io (dockerd 20.10) and
# docker-compose 1.29 (compose v1: the Python one; there is no `docker compose` v2 plugin in Debian 12),
# plus debootstrap, which builds the base image of the stand-in images (no image registry is reachable).
# An engine that already answers is used as it is. Otherwise this script starts dockerd in the background
# and writes its process id to $CR_DOCKER_PIDFILE (default: .artifacts/dockerd.pid), so that the run that
# started it, and only that run, stops it (`engine.sh stop`).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pidfile=${CR_DOCKER_PIDFILE:-$root/.artifacts/dockerd.pid}
# Debian's client, not a newer one that may be earlier on the PATH: it speaks the engine's API version.
docker=/usr/bin/docker

if [ "${1:-}" = "stop" ]; then
  if [ -s "$pidfile" ]; then
    pid=$(cat "$pidfile")
    echo "[docker] stopping the engine this run started (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    rm -f "$pidfile"
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
missing=()
[ -x /usr/sbin/dockerd ] && [ -x "$docker" ] || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  echo "[docker] installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if "$docker" info >/dev/null 2>&1; then
  echo "[docker] an engine answers: using it as it is"
  exit 0
fi
mkdir -p "$(dirname "$pidfile")"
log="$(dirname "$pidfile")/dockerd.log"
echo "[docker] starting dockerd (log: $log)"
# setsid: the engine outlives this script and is not killed with the shell's process group.
# With every descriptor but the standard three closed: dockerd outlives this script, and an inherited lock
# (prepare.sh holds its flock on fd 8, install-n8n.sh on 9) would stay held for as long as dockerd runs,
# so the next prepare would wait for it forever.
setsid /usr/sbin/dockerd >"$log" 2>&1 < /dev/null 8>&- 9>&- &
echo $! > "$pidfile"
for _ in $(seq 1 120); do
  if "$docker" info >/dev/null 2>&1; then
    echo "[docker] engine up ($("$docker" version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "[docker] the engine did not answer within 60 s; its log:" >&2
tail -n 30 "$log" >&2
exit 1
