#!/usr/bin/env bash
# Makes sure a RabbitMQ broker answers on 127.0.0.1:5672 and that rabbitmq-server is installed (the
# fault matrix runs a node of its own). A broker that already answers is used as it is (never restarted
# or wiped: tests use their own queue names). Otherwise rabbitmq-server is installed from Debian's
# packages where missing and started, bound to loopback.
set -euo pipefail
answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive
# The fault matrix starts (and restarts) a node of its own, on its own port and data: it needs the server
# installed even where the machine's broker answers.
if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "[rabbitmq] installing rabbitmq-server from Debian's packages"
  apt-get update -qq
  apt-get install -y -qq rabbitmq-server >/dev/null
  # Debian's package starts its own service on install where it can; the check below then finds it.
fi
if answers; then
  echo "[rabbitmq] a broker answers on 127.0.0.1:5672: using it as it is"
  exit 0
fi
# Loopback only, unless the machine already has its own configuration.
if [ ! -s /etc/rabbitmq/rabbitmq.conf ]; then
  mkdir -p /etc/rabbitmq
  printf 'listeners.tcp.default = 127.0.0.1:5672\nmanagement.tcp.ip = 127.0.0.1\n' > /etc/rabbitmq/rabbitmq.conf
fi
if [ ! -s /etc/rabbitmq/rabbitmq-env.conf ]; then
  printf 'NODE_IP_ADDRESS=127.0.0.1\nERL_EPMD_ADDRESS=127.0.0.1\n' > /etc/rabbitmq/rabbitmq-env.conf
fi
echo "[rabbitmq] starting rabbitmq-server"
rabbitmq-server -detached
for _ in $(seq 1 240); do
  if answers && rabbitmqctl -q status >/dev/null 2>&1; then
    echo "[rabbitmq] broker is up on 127.0.0.1:5672"
    exit 0
  fi
  sleep 0.5
done
echo "[rabbitmq] the broker did not come up within 120 s" >&2
exit 1
