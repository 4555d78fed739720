#!/usr/bin/env bash
# Runs a command against RabbitMQ 4.0.5 (Debian 13's rabbitmq-server, the stand-in image images.sh builds
# as rabbitmq:4.0.5-management) in a container of this run's own, on a free loopback port, with
# CR_RABBITMQ_URL pointing at it; the machine's broker is not touched. The container is removed afterwards,
# whatever the command did; its exit status is the command's.
#   bash testbench/docker/rabbitmq4.sh npx jest test/integration/queue-consumer.test.ts …
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
docker=/usr/bin/docker
image=rabbitmq:4.0.5-management
log() { echo "[rabbitmq 4] $*" >&2; }

bash "$here/engine.sh" >&2
if ! "$docker" image inspect "$image" >/dev/null 2>&1; then
  log "building the stand-in images (once per machine; testbench/docker/images.sh)"
  bash "$here/images.sh"
fi
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
name="cr-rmq4-$$-$(date +%s)"
cleanup() { "$docker" rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
t0=$(date +%s)
"$docker" run -d --name "$name" -p "127.0.0.1:$port:5672" \
  -e RABBITMQ_DEFAULT_USER=guest -e RABBITMQ_DEFAULT_PASS=guest "$image" >/dev/null
for _ in $(seq 1 240); do
  if "$docker" exec "$name" rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then break; fi
  if [ "$("$docker" inspect -f '{{.State.Running}}' "$name")" != true ]; then
    log "the broker stopped; its log:"; "$docker" logs --tail 40 "$name" >&2; exit 1
  fi
  sleep 0.5
done
version=$("$docker" exec "$name" rabbitmqctl version 2>/dev/null | tr -d '\r')
log "RabbitMQ $version up on 127.0.0.1:$port in $(( $(date +%s) - t0 )) s (container $name)"
export CR_RABBITMQ_URL="amqp://guest:guest@127.0.0.1:$port"
set +e
"$@"
status=$?
set -e
exit $status
