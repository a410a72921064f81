#!/bin/sh
# Container entry point: secrets mounted as files (Docker/Swarm/Kubernetes secrets) become the
# environment variables MiniTwit reads, then node replaces this shell (PID 1, gets SIGTERM).
set -eu
for name in SESSION_SECRET DATABASE_URL SIM_API_AUTH; do
  file_var="${name}_FILE"
  eval "file=\${$file_var:-}"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "docker-entrypoint: $file_var=$file is not readable" >&2
      exit 1
    fi
    value=$(cat "$file")
    export "$name=$value"
  fi
done
exec node /app/bin/minitwit.js "$@"
