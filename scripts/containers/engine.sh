#!/usr/bin/env bash
# The Docker engine for the container tests, on a Debian machine where we are root.
#
#   scripts/containers/engine.sh install   Debian packages: docker.io containerd runc iptables debootstrap
#   scripts/containers/engine.sh start     install, then start dockerd in the background unless one answers
#   scripts/containers/engine.sh stop      stop the dockerd that `start` started, then undo what it left:
#                                          bridges, iptables rules and chains, net.ipv4.ip_forward
#   scripts/containers/engine.sh status    exit 0 when an engine answers
#
# Debian's package cannot start the daemon itself here (no systemd), so `start` runs it by hand,
# logs to $STATE/dockerd.log and notes what the machine looked like before (iptables rules,
# ip_forward) so that `stop` can put it back. An engine that was already running is left alone
# by both. Images live in /var/lib/docker and so survive a stop: that is the cache between runs.
set -euo pipefail

STATE="${MINITWIT_ENGINE_STATE:-/run/minitwit-engine}"
SOCK=/var/run/docker.sock
export DOCKER_HOST="unix://$SOCK"

log() { printf 'engine: %s\n' "$*" >&2; }

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v containerd >/dev/null 2>&1 || need+=(containerd)
  command -v runc >/dev/null 2>&1 || need+=(runc)
  command -v iptables >/dev/null 2>&1 || need+=(iptables)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  # Debian's docker.io brings the 20.10 CLI; a newer one in /usr/local/bin (with `docker stack
  # config`) is preferred when the machine has it.
  command -v docker >/dev/null 2>&1 || { log "no docker CLI after the install"; exit 1; }
}

start() {
  if answers; then
    log "an engine already answers on $SOCK: using it"
    return 0
  fi
  [ "$(id -u)" = 0 ] || { log "starting dockerd needs root"; exit 1; }
  install
  mkdir -p "$STATE"
  if [ -f "$STATE/dockerd.pid" ] && kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null; then
    log "dockerd $(cat "$STATE/dockerd.pid") is starting: waiting for it"
  else
    # What `stop` restores. Taken only when no engine of ours has changed the machine yet.
    if [ ! -f "$STATE/iptables.before" ]; then
      iptables-save >"$STATE/iptables.before" 2>/dev/null || true
      cat /proc/sys/net/ipv4/ip_forward >"$STATE/ip_forward.before"
    fi
    # Builds and containers run at dockerd's priority: a nice engine keeps the other users of
    # this shared machine responsive. Children (containerd, shims, containers) inherit it.
    log "starting dockerd (log: $STATE/dockerd.log)"
    nohup nice -n 10 dockerd --storage-driver overlay2 \
      >>"$STATE/dockerd.log" 2>&1 </dev/null &
    echo $! >"$STATE/dockerd.pid"
  fi
  for _ in $(seq 1 120); do
    answers && { log "dockerd answers ($(docker version --format '{{.Server.Version}}'))"; return 0; }
    kill -0 "$(cat "$STATE/dockerd.pid")" 2>/dev/null || break
    sleep 0.5
  done
  log "dockerd did not come up; its log ends with:"
  tail -n 20 "$STATE/dockerd.log" >&2 || true
  exit 1
}

stop() {
  if [ ! -f "$STATE/dockerd.pid" ]; then
    log "no dockerd started by this script: nothing to stop"
    return 0
  fi
  local pid
  pid="$(cat "$STATE/dockerd.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    # A swarm keeps tasks and its overlay networks; leaving it removes them.
    docker swarm leave --force >/dev/null 2>&1 || true
    log "stopping dockerd $pid"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  # The containerd dockerd started for itself stops with it; wait for its pid file to go.
  for _ in $(seq 1 20); do [ -e /var/run/docker/containerd/containerd.pid ] || break; sleep 0.5; done
  # Bridges and the VXLAN/overlay leftovers dockerd does not remove when it stops.
  for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 |
    grep -E '^(docker0|docker_gwbridge|br-[0-9a-f]{12}|veth[0-9a-f]+|vx-[0-9a-f-]+)$' || true); do
    ip link delete "$link" 2>/dev/null || true
  done
  if [ -f "$STATE/iptables.before" ]; then
    if [ -s "$STATE/iptables.before" ]; then
      iptables-restore <"$STATE/iptables.before"
    else
      # No rules before: remove what dockerd added and give back the default policies.
      for table in filter nat mangle raw; do
        iptables -t "$table" -F 2>/dev/null || true
        iptables -t "$table" -X 2>/dev/null || true
      done
      iptables -P INPUT ACCEPT
      iptables -P FORWARD ACCEPT
      iptables -P OUTPUT ACCEPT
    fi
    rm -f "$STATE/iptables.before"
  fi
  if [ -f "$STATE/ip_forward.before" ]; then
    cat "$STATE/ip_forward.before" >/proc/sys/net/ipv4/ip_forward
    rm -f "$STATE/ip_forward.before"
  fi
  rm -f "$STATE/dockerd.pid"
  log "stopped; bridges, iptables and ip_forward are as before"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *)
    echo "usage: $0 install|start|stop|status" >&2
    exit 2
    ;;
esac
