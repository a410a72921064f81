#!/usr/bin/env bash
# Makes the stand-in images the container tests run on a machine with no image registry:
#
#   minitwit-standin/debian:bookworm         debootstrap --variant=minbase, then `docker import`
#   minitwit-standin/node:<host version>     that + this machine's Node.js, npm and headers
#   minitwit-standin/postgres:15-bookworm    Debian's PostgreSQL 15, official-image entry point
#   minitwit-standin/nginx:1.22-bookworm     Debian's nginx, official-image template rendering
#   minitwit-standin/prometheus:bookworm     Debian's Prometheus
#   minitwit-standin/nginx:sid               (with `current`) Debian unstable's newer nginx
#
# Their names say what they are: none is tagged as the official image it stands in for (the
# Dockerfile takes the base as a build argument, the stacks take images from an override file).
# Each image carries a label with a hash of its recipe; one that exists with the same hash is
# kept, so a second run costs a few `docker image inspect`s. Prints `name=image` lines.
# Needs a running engine (scripts/containers/engine.sh start) and root (debootstrap).
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/standins"
export DOCKER_BUILDKIT=0

REPO=minitwit-standin
MIRROR="${DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  # The mirror apt already uses (deb822 or one-line sources), else Debian's CDN.
  MIRROR=$(grep -rhoE '^(URIs: *|deb +)(\[[^]]*\] +)?https?://[^ ]+/debian/?( |$)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^ ]+' |
    grep -v security | head -n1 || true)
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

log() { printf 'images: %s\n' "$*" >&2; }

# quiet COMMAND...: runs it with its output in a file, shown only when it fails.
quiet() {
  local out
  out=$(mktemp)
  if ! "$@" >"$out" 2>&1; then
    tail -n 30 "$out" >&2
    rm -f "$out"
    log "failed: $*"
    return 1
  fi
  rm -f "$out"
}

recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }

# Appends the image id to each BASE=image line, so that a remade base remakes what is built on it.
with_ids() {
  while read -r line; do
    case "$line" in
      BASE=*) echo "$line $(docker image inspect -f '{{.Id}}' "${line#BASE=}" 2>/dev/null)" ;;
      *) echo "$line" ;;
    esac
  done
}

# up_to_date IMAGE HASH: the image exists and was made from this recipe.
up_to_date() {
  [ "$(docker image inspect -f '{{index .Config.Labels "minitwit.standin.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

base_image() {
  local suite=$1 image="$REPO/debian:$1" hash
  hash=$(echo "debootstrap minbase $suite $MIRROR v2" | sha256sum | cut -c1-16)
  if up_to_date "$image" "$hash"; then echo "$image"; return; fi
  local root
  root=$(mktemp -d /var/tmp/minitwit-rootfs.XXXXXX)
  log "debootstrap $suite from $MIRROR (about 30 s)"
  nice -n 10 debootstrap --variant=minbase "$suite" "$root" "$MIRROR" >"$root.log" 2>&1 || {
    tail -n 20 "$root.log" >&2
    rm -rf "$root" "$root.log"
    exit 1
  }
  # As in Debian's official image: the suite, its updates and security, no recommends, no docs.
  if [ "$suite" = sid ]; then
    printf 'deb %s sid main\n' "$MIRROR" >"$root/etc/apt/sources.list"
    # Unstable's Release file carries a Valid-Until a week or so ahead; a mirror snapshot that
    # is older than that is refused by apt unless told otherwise.
    printf 'Acquire::Check-Valid-Until "false";\n' >"$root/etc/apt/apt.conf.d/91minitwit-snapshot"
  else
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s-security %s-security main\n' \
      "$MIRROR" "$suite" "$MIRROR" "$suite" "${MIRROR%/debian*}/debian" "$suite" \
      >"$root/etc/apt/sources.list"
  fi
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$root/etc/apt/apt.conf.d/90minitwit-standin"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import \
    --change "LABEL minitwit.standin.recipe=$hash" \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$image" >/dev/null
  rm -rf "$root" "$root.log"
  log "made $image"
  echo "$image"
}

# build IMAGE DOCKERFILE [CONTEXT] [build args...]
build() {
  local image=$1 dockerfile=$2 context=${3:-.} hash
  shift 3
  hash=$(recipe_hash "$dockerfile" ./*.sh ./*.conf <(printf '%s\n' "$@" | with_ids))
  if up_to_date "$image" "$hash"; then echo "$image"; return; fi
  log "building $image"
  quiet docker build -f "$dockerfile" --label "minitwit.standin.recipe=$hash" -t "$image" \
    "$@" "$context" || return 1
  log "made $image"
  echo "$image"
}

node_image() {
  local base=$1 version image context
  version=$(node --version | tr -d v)
  image="$REPO/node:$version-bookworm"
  local hash
  hash=$(recipe_hash node.Dockerfile <(echo "BASE=$base $version" | with_ids) \
    /etc/ssl/certs/ca-certificates.crt)
  if up_to_date "$image" "$hash"; then echo "$image"; return; fi
  # The host's Node.js, laid out as under /usr/local in the official image.
  local node_bin npm_dir include_dir
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  include_dir=$(dirname "$(dirname "$node_bin")")/include/node
  [ -d "$include_dir" ] || { log "no Node headers at $include_dir"; exit 1; }
  context=$(mktemp -d /var/tmp/minitwit-node.XXXXXX)
  mkdir -p "$context/node/bin" "$context/node/lib/node_modules" "$context/node/include"
  cp "$node_bin" "$context/node/bin/node"
  cp -a "$npm_dir" "$context/node/lib/node_modules/npm"
  cp -a "$include_dir" "$context/node/include/node"
  cp /etc/ssl/certs/ca-certificates.crt "$context/"
  cp node.Dockerfile "$context/Dockerfile"
  log "building $image from the host's Node.js $version"
  quiet docker build --label "minitwit.standin.recipe=$hash" --build-arg "BASE=$base" \
    --build-arg "NODE_VERSION=$version" -t "$image" "$context" || return 1
  rm -rf "$context"
  log "made $image"
  echo "$image"
}

base=$(base_image bookworm)
node=$(node_image "$base")
postgres=$(build "$REPO/postgres:15-bookworm" postgres.Dockerfile . --build-arg "BASE=$base")
nginx=$(build "$REPO/nginx:1.22-bookworm" nginx.Dockerfile . --build-arg "BASE=$base")
prometheus=$(build "$REPO/prometheus:bookworm" prometheus.Dockerfile . --build-arg "BASE=$base")
printf 'debian=%s\nnode=%s\npostgres=%s\nnginx=%s\nprometheus=%s\n' \
  "$base" "$node" "$postgres" "$nginx" "$prometheus"
if [ "${1:-}" = current ]; then
  sid=$(base_image sid)
  current=$(build "$REPO/nginx:sid" nginx.Dockerfile . --build-arg "BASE=$sid")
  printf 'nginx_current=%s\n' "$current"
fi
