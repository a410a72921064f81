# Stand-in for the official postgres image, made without a registry: Debian bookworm's
# PostgreSQL 15 (the official image the stacks name is 16).
# Copies of the official image: POSTGRES_USER, POSTGRES_PASSWORD(_FILE) and POSTGRES_DB create
# the role and database on the first start with an empty PGDATA (/var/lib/postgresql/data);
# password (scram-sha-256) authentication from the network, trust on the local socket; listens
# on every address, port 5432; runs as the `postgres` user; pg_isready on PATH; stops on SIGINT
# (fast shutdown). Differs: major version 15, no /docker-entrypoint-initdb.d scripts, no
# POSTGRES_INITDB_ARGS, no POSTGRES_HOST_AUTH_METHOD.
ARG BASE=minitwit-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
