#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 (a "postgres" role the tests may use without a
# password) and Redis on 127.0.0.1:6379, for n8n's queue mode in the tests. Servers that already answer
# are used as they are, never restarted or wiped: each run makes its own database and Redis key prefix and
# removes only those. Otherwise the packages are installed from Debian's archive where missing and
# started, bound to loopback.
set -euo pipefail
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive
installed_apt=0
need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    if [ "$installed_apt" = 0 ]; then apt-get update -qq; installed_apt=1; fi
    echo "[queue services] installing $2 from Debian's packages"
    apt-get install -y -qq "$2" >/dev/null
  fi
}

# ---- PostgreSQL ----
if answers 5432; then
  echo "[queue services] PostgreSQL answers on 127.0.0.1:5432: using it as it is"
else
  need psql postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  conf="/etc/postgresql/$version/main"
  # Loopback only, and the local test role without a password (trust on loopback, as CI machines have it).
  sed -i "s/^#\?listen_addresses.*/listen_addresses = '127.0.0.1'/" "$conf/postgresql.conf"
  if ! grep -q "cr-tests" "$conf/pg_hba.conf"; then
    sed -i '1i host all postgres 127.0.0.1/32 trust # cr-tests' "$conf/pg_hba.conf"
  fi
  echo "[queue services] starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 120); do answers 5432 && break; sleep 0.5; done
  answers 5432 || { echo "[queue services] PostgreSQL did not come up within 60 s" >&2; exit 1; }
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  echo "[queue services] PostgreSQL answers, but not to role postgres without a password on 127.0.0.1" >&2
  exit 1
fi

# ---- Redis ----
if answers 6379; then
  echo "[queue services] Redis answers on 127.0.0.1:6379: using it as it is"
else
  need redis-server redis-server
  echo "[queue services] starting Redis (nothing kept on disk)"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/cr-tests.log
  for _ in $(seq 1 60); do answers 6379 && break; sleep 0.5; done
  answers 6379 || { echo "[queue services] Redis did not come up within 30 s" >&2; exit 1; }
fi
need redis-cli redis-tools
echo "[queue services] PostgreSQL and Redis are up"
