#!/usr/bin/env bash
# The compose suite's stand-in CA: the Pipedrive and gateway stand-ins are served to the containers over
# https (the pack sends tokens over plain http only to loopback), with certificates of this CA, which the
# stand-in images trust (images.sh). Made once per machine cache, never committed (it is a test key).
#   ca.sh cert                      prints the CA certificate's path (making the CA first if needed)
#   ca.sh server DIR NAME_OR_IP...  writes DIR/server.key and DIR/server.crt for those names and addresses
set -euo pipefail
cache=${CR_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-checkout-recovery}
dir="$cache/standin-ca"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [ ! -s "$dir/ca.crt" ] || [ ! -s "$dir/ca.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=n8n-nodes-checkout-recovery test stand-in CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" >/dev/null 2>&1
  chmod 600 "$dir/ca.key"
fi
case "${1:-}" in
  cert) echo "$dir/ca.crt" ;;
  server)
    out=$2; shift 2
    mkdir -p "$out"
    san=""
    for name in "$@"; do
      if [[ $name =~ ^[0-9.]+$ ]]; then san+="IP:$name,"; else san+="DNS:$name,"; fi
    done
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$out/server.key" -out "$out/server.csr" >/dev/null 2>&1
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san%,}" > "$out/ext.cnf"
    openssl x509 -req -in "$out/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
      -days 30 -extfile "$out/ext.cnf" -out "$out/server.crt" >/dev/null 2>&1
    rm -f "$out/server.csr" "$out/ext.cnf"
    ;;
  *) echo "usage: ca.sh cert | ca.sh server DIR NAME_OR_IP..." >&2; exit 2 ;;
esac
