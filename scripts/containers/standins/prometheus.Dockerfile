# Stand-in for the official prom/prometheus image, made without a registry: Debian's prometheus
# package (2.42 on bookworm; the stacks name v3.5).
# Copies of the official image: ENTRYPOINT the prometheus binary, the default command reads
# /etc/prometheus/prometheus.yml and stores in /prometheus (the working directory, a volume),
# runs as nobody, port 9090. Differs: major version 2 (the shipped configuration is checked by
# Debian's promtool too), no console templates, and the binary's default storage path is
# Debian's /var/lib/prometheus/metrics2 (the official one is data/ under /prometheus): a command
# that replaces the CMD must name --storage.tsdb.path, as compose.yaml does.
ARG BASE=minitwit-standin/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus && chown nobody:nogroup /prometheus
USER nobody
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
