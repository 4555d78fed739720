#!/usr/bin/env bash
# A RabbitMQ 4.x broker of the run's own, in a container of the stand-in image rabbitmq:4.0.5-management
# (Debian 13's rabbitmq-server; images.sh builds it), for suites that must pass on the 4.x line as well as
# on the machine's broker. The machine's broker is never touched.
#   broker.sh start NAME   starts it (loopback port chosen by Docker) and prints its amqp:// URL when it answers
#   broker.sh stop NAME    removes it and its data
set -euo pipefail
docker=/usr/bin/docker
name=${2:?usage: broker.sh start|stop NAME}
case "$1" in
  start)
    "$docker" rm -f -v "$name" >/dev/null 2>&1 || true
    "$docker" run -d --name "$name" --hostname "$name" -p 127.0.0.1::5672 \
      -e RABBITMQ_DEFAULT_USER=guest -e RABBITMQ_DEFAULT_PASS=guest rabbitmq:4.0.5-management >/dev/null
    for _ in $(seq 1 240); do
      if "$docker" exec "$name" rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
        port=$("$docker" port "$name" 5672/tcp | head -1 | sed 's/.*://')
        echo "amqp://guest:guest@127.0.0.1:$port"
        exit 0
      fi
      sleep 0.5
    done
    echo "[broker] $name did not come up within 120 s:" >&2
    "$docker" logs "$name" 2>&1 | tail -n 20 >&2
    exit 1
    ;;
  stop) "$docker" rm -f -v "$name" >/dev/null 2>&1 || true ;;
  *) echo "usage: broker.sh start|stop NAME" >&2; exit 2 ;;
esac
