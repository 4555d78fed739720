#!/bin/sh
# As the official n8n image's entrypoint: the container's arguments go to n8n (`worker`, `webhook`, ...);
# none starts the main.
if [ "$#" -gt 0 ]; then
  exec n8n "$@"
else
  exec n8n
fi
