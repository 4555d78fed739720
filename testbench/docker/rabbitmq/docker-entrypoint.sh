#!/bin/bash
# The first user from RABBITMQ_DEFAULT_USER/PASS (as the official image), listeners on every interface
# of the container, the data folder owned by the rabbitmq user, the server in the foreground.
set -euo pipefail
mkdir -p /var/lib/rabbitmq /etc/rabbitmq
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
{
  echo "loopback_users = none"
  [ -n "${RABBITMQ_DEFAULT_USER:-}" ] && echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -n "${RABBITMQ_DEFAULT_PASS:-}" ] && echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  true
} > /etc/rabbitmq/rabbitmq.conf
chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
chmod 600 /etc/rabbitmq/rabbitmq.conf
# Debian's environment file may pin the node to loopback; the container's own interfaces are private.
: > /etc/rabbitmq/rabbitmq-env.conf
exec "$@"
