# Stand-in for the official node:<version>-bookworm-slim image, made without a registry:
# Debian bookworm (debootstrap, minbase) plus this machine's own Node.js, npm and Node headers.
# Copies of the official image: node, npm and npx on PATH in /usr/local, a `node` user and group
# with uid/gid 1000 and home /home/node, NODE_VERSION set, `node` as the default command.
# Differs: the Node.js build is the host's (NodeSource), not the official tarball; no yarn or
# corepack; the host's CA bundle is installed and npm's `cafile` points at it (this network
# intercepts TLS); npm's `nodedir` points at the copied headers so node-gyp downloads nothing.
ARG BASE=minitwit-standin/debian:bookworm
FROM ${BASE}
ARG NODE_VERSION
COPY node/ /usr/local/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && mkdir -p /usr/local/etc \
 && printf 'cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=/usr/local\nupdate-notifier=false\nfund=false\n' > /usr/local/etc/npmrc \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
ENV NODE_VERSION=${NODE_VERSION}
CMD ["node"]
