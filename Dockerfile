# syntax=docker/dockerfile:1
# MiniTwit image: build with the full toolchain, ship only what runs.
#   docker build -t ghcr.io/OWNER/minitwit:$(git rev-parse --short HEAD) .
# Tags are immutable commit ids: every replica runs the same, known build and rollback is a tag.

# The base image of both stages: the official Node.js image. A machine without a registry
# passes a stand-in under its own name (--build-arg NODE_IMAGE=minitwit-standin/node:…,
# scripts/containers/images.sh); nothing else in this file changes for it.
ARG NODE_VERSION=20.19-bookworm-slim
ARG NODE_IMAGE=node:${NODE_VERSION}

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Compilers for better-sqlite3 when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Everything .dockerignore lets through: the sources (tests and benchmarks stay out).
COPY . .
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=5000 \
    API_PORT=5001 \
    HOST=0.0.0.0 \
    DATABASE_URL=sqlite:/data/minitwit.db \
    SHUTDOWN_DELAY_MS=2000 \
    SHUTDOWN_GRACE_MS=10000
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY --from=build --chown=root:root /app/bin ./bin
COPY --chown=root:root src/web/views ./src/web/views
COPY --chown=root:root src/web/static ./src/web/static
# The code belongs to root and is read-only for the app; only /data (SQLite) is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 5000 5001
# Liveness of the simulator API port (/healthz: the process answers). Not readiness: an engine
# restarts or replaces unhealthy containers, and a database outage, which makes every replica
# unready at once, must not get them all killed. /readyz is for routing (load balancers,
# Kubernetes readiness). Node's fetch needs no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.API_PORT||5001)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The entry point turns *_FILE secrets into variables, then execs node as PID 1 (no npm, no
# shell left), so SIGTERM reaches the graceful shutdown.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/bin/docker-entrypoint.sh"]
CMD ["serve"]
