#!/bin/sh
# As MinIO's image: `server /data ...` (compose's command) runs `minio server /data ...`.
if [ "${1:-}" = "minio" ]; then shift; fi
exec minio "$@"
