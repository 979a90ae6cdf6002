#!/usr/bin/env bash
# Starts, stops and reports the local services Conveyor's tests and demo use:
#   - engine 1: the machine's default Docker engine (unix:///var/run/docker.sock);
#   - engine 2 (with --engines 2): a second dockerd with its own socket, data root, exec root
#     and pidfile, `--bridge none` and no iptables, so it never touches engine 1's docker0;
#   - a registry (Debian's docker-registry) on 127.0.0.1:5000, no auth, data in the state dir;
#   - the base image: busybox-static imported with `docker import` and pushed as
#     localhost:5000/library/busybox:latest and :1.35 (there is no internet here).
#
# usage: scripts/services.sh up|down|status [--engines N]
#
# Idempotent: `up` starts only what does not answer, and notes what it started in the state
# dir so that `down` stops only that. A daemon that died (kill -9) leaves a stale pid file that
# stops the next dockerd from starting ("pid file found"): `up` detects it (socket silent, pid
# not alive), removes it and starts the daemon again.
#
# Environment: CONVEYOR_SERVICES_DIR (state dir, default /var/lib/conveyor-services),
# CONVEYOR_REGISTRY_ADDR (default 127.0.0.1:5000).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
state=${CONVEYOR_SERVICES_DIR:-/var/lib/conveyor-services}
registry_addr=${CONVEYOR_REGISTRY_ADDR:-127.0.0.1:5000}
registry_port=${registry_addr##*:}
registry_ref_host="localhost:${registry_port}"

engine1_sock=/var/run/docker.sock
engine1_pid=/var/run/docker.pid
engine1_exec=/var/run/docker
engine2_sock=/var/run/conveyor-docker2.sock
engine2_pid=/var/run/conveyor-docker2.pid
engine2_exec=/var/run/conveyor-docker2
engine2_data=$state/engine2

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<EOF
usage: scripts/services.sh up|down|status [--engines N]

  up       start what is not running: Docker engine(s), registry on $registry_addr, base image
  down     stop what 'up' started (never a daemon it found running)
  status   print each service, its address and whether it answers

  --engines N   how many Docker engines (1 or 2; default 1). Engine 2 listens on
                unix://$engine2_sock
EOF
}

# --- packages -------------------------------------------------------------------------------

need_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v curl >/dev/null || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
      >"$state/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed (see $state/apt.log)"
  else
    die "missing packages: ${missing[*]} (install them, e.g. 'sudo apt-get install ${missing[*]}')"
  fi
}

# --- helpers --------------------------------------------------------------------------------

engine_answers() { timeout 10 docker -H "unix://$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
registry_answers() { curl -fsS -m 5 "http://$registry_addr/v2/" >/dev/null 2>&1; }
# A killed daemon whose parent is gone can linger as a zombie until init reaps it: count
# zombies as dead, or a stale pid file would look alive.
pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ] && [ "$st" != X ]
}
read_pid() { [ -f "$1" ] && tr -dc '0-9' <"$1" || true; }

wait_for() { # wait_for DESCRIPTION SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  local i
  for ((i = 0; i < secs * 4; i++)); do
    "$@" && return 0
    sleep 0.25
  done
  return 1
}

# A dockerd killed with -9 leaves its containerd's pid file behind (and sometimes the
# containerd itself, or its zombie). dockerd trusts a pid that kill -0 accepts, zombies
# included, then times out waiting for a socket nobody serves: clear that state first.
clear_stale_containerd() { # clear_stale_containerd NAME EXEC_ROOT
  local f=$2/containerd/containerd.pid pid
  pid=$(read_pid "$f")
  [ -n "$pid" ] || return 0
  if pid_alive "$pid"; then
    log "$1: stopping containerd (pid $pid) left behind by a dead dockerd"
    kill "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 40; i++)); do pid_alive "$pid" || break; sleep 0.25; done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# start_engine NAME SOCKET PIDFILE EXEC_ROOT LOG [dockerd args...]
start_engine() {
  local name=$1 sock=$2 pidfile=$3 exec_root=$4 logf=$5; shift 5
  if engine_answers "$sock"; then
    log "$name already answers on unix://$sock"
    return 0
  fi
  local pid
  pid=$(read_pid "$pidfile")
  if pid_alive "$pid"; then
    # A live daemon that does not answer yet may still be starting.
    if wait_for "$name" 30 engine_answers "$sock"; then
      log "$name (pid $pid) answers on unix://$sock"
      return 0
    fi
    die "$name (pid $pid) is running but does not answer on unix://$sock; stop it first"
  fi
  if [ -e "$pidfile" ]; then
    log "$name: removing stale pid file $pidfile (pid ${pid:-?} is not running)"
    rm -f "$pidfile"
  fi
  clear_stale_containerd "$name" "$exec_root"
  rm -f "$sock"
  log "starting $name on unix://$sock (log: $logf)"
  nohup dockerd --host "unix://$sock" --pidfile "$pidfile" --exec-root "$exec_root" "$@" >"$logf" 2>&1 &
  local started=$!
  echo "$started" >"$state/started-$name"
  if ! wait_for "$name" 60 engine_answers "$sock"; then
    tail -n 20 "$logf" >&2 || true
    die "$name did not answer on unix://$sock within 60s (log: $logf)"
  fi
  log "$name answers (pid $started)"
}

start_registry() {
  if registry_answers; then
    log "registry already answers on $registry_addr"
    return 0
  fi
  mkdir -p "$state/registry"
  log "starting registry on $registry_addr (data: $state/registry)"
  REGISTRY_HTTP_ADDR=$registry_addr \
  REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=$state/registry \
    nohup docker-registry serve "$here/registry.yml" >"$state/registry.log" 2>&1 &
  echo $! >"$state/started-registry"
  if ! wait_for registry 30 registry_answers; then
    tail -n 20 "$state/registry.log" >&2 || true
    die "registry did not answer on $registry_addr within 30s (log: $state/registry.log)"
  fi
  log "registry answers"
}

# The base image: busybox-static's binary, one link per applet, a minimal /etc.
push_base_image() {
  local repo=$registry_ref_host/library/busybox
  if curl -fs -m 5 -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
       "http://$registry_addr/v2/library/busybox/manifests/1.35" \
     && curl -fs -m 5 -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
       "http://$registry_addr/v2/library/busybox/manifests/latest"; then
    log "base image $repo:latest is in the registry"
    return 0
  fi
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root" "$root/home"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
  log "importing busybox-static as $repo:latest"
  tar -C "$root" -c . | docker -H "unix://$engine1_sock" import \
    -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' - "$repo:latest" >/dev/null
  rm -rf "$root"
  docker -H "unix://$engine1_sock" tag "$repo:latest" "$repo:1.35"
  docker -H "unix://$engine1_sock" push -q "$repo:latest" >/dev/null
  docker -H "unix://$engine1_sock" push -q "$repo:1.35" >/dev/null
  log "pushed $repo:latest and $repo:1.35"
}

# A dockerd started with `--bridge none` deletes any interface called docker0 at start-up
# (libnetwork's removeDefaultBridgeInterface), which breaks engine 1's default network:
# containers then fail with "could not find bridge docker0". Engine 2 is therefore started
# before engine 1, and if docker0 is missing while engine 1 has its default bridge network,
# it is put back with engine 1's own subnet and gateway.
ensure_docker0() {
  ip link show docker0 >/dev/null 2>&1 && return 0
  local gw subnet
  gw=$(docker -H "unix://$engine1_sock" network inspect bridge \
        --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null) || return 0
  subnet=$(docker -H "unix://$engine1_sock" network inspect bridge \
        --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' 2>/dev/null) || return 0
  [ -n "$gw" ] && [ -n "$subnet" ] || return 0
  log "engine1: docker0 is missing; recreating it ($gw, ${subnet#*/} bits)"
  ip link add docker0 type bridge \
    && ip addr add "$gw/${subnet#*/}" dev docker0 \
    && ip link set docker0 up \
    || die "could not recreate docker0 (engine 1's default network is unusable)"
}

# stop NAME: stops a process this script started, if it is still the one we started.
stop_started() {
  local name=$1 f=$state/started-$1
  [ -f "$f" ] || return 0
  local pid
  pid=$(read_pid "$f")
  if pid_alive "$pid"; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 80; i++)); do pid_alive "$pid" || break; sleep 0.25; done
    pid_alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# --- commands -------------------------------------------------------------------------------

engines=1
cmd=${1:-}
[ $# -gt 0 ] && shift
while [ $# -gt 0 ]; do
  case $1 in
    --engines) engines=${2:-}; shift 2 || die "--engines needs a number" ;;
    --engines=*) engines=${1#--engines=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
case $engines in 1|2) ;; *) die "--engines takes 1 or 2, not '$engines'" ;; esac

mkdir -p "$state"
case $cmd in
  up)
    need_packages
    # Engine 2 first: its start-up deletes docker0 (see ensure_docker0).
    if [ "$engines" -ge 2 ]; then
      mkdir -p "$engine2_data" "$engine2_exec"
      start_engine engine2 "$engine2_sock" "$engine2_pid" "$engine2_exec" "$state/engine2.log" \
        --data-root "$engine2_data" \
        --bridge none --iptables=false --ip-masq=false
    fi
    start_engine engine1 "$engine1_sock" "$engine1_pid" "$engine1_exec" "$state/engine1.log"
    ensure_docker0
    start_registry
    push_base_image
    "$0" status --engines "$engines"
    ;;
  down)
    stop_started engine2
    stop_started engine1
    stop_started registry
    ;;
  status)
    rc=0
    report() { # report NAME ADDRESS ANSWERS(0/1)
      local who=external
      [ -f "$state/started-$1" ] && pid_alive "$(read_pid "$state/started-$1")" && who="started by services.sh"
      if [ "$3" = 0 ]; then printf '%-9s %-40s up (%s)\n' "$1" "$2" "$who"
      else printf '%-9s %-40s down\n' "$1" "$2"; rc=1; fi
    }
    answers() { if "$@"; then echo 0; else echo 1; fi; }
    report engine1 "unix://$engine1_sock" "$(answers engine_answers "$engine1_sock")"
    if [ "$engines" -ge 2 ]; then
      report engine2 "unix://$engine2_sock" "$(answers engine_answers "$engine2_sock")"
    fi
    report registry "$registry_addr" "$(answers registry_answers)"
    exit $rc
    ;;
  *) usage >&2; exit 2 ;;
esac
