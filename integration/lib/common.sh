# Shared helpers for the boot tests, the demo and the boot bench. Source it; it sets up a trap
# that cleans everything up on exit:
#   dl_init PREFIX           temp dir $DL_TMP, network namespace $DL_NS (PREFIX-<pid>), EXIT trap
#   dl_lo                    the namespace $DL_NS with its loopback only (servers on 127.0.0.1)
#   dl_net [TAPS]            bridge br0 (10.77.0.1/24, fd77::1/64) + taps tap0..tap<N-1> in $DL_NS
#   dl_veth [MAC]            a client namespace $DL_CNS joined to $DL_NS by a veth pair: dls0
#                            (10.77.1.1/24) in $DL_NS, dlc0 (10.77.1.2/24, MAC if given) in $DL_CNS
#   dl_client_mac MAC        the client's interface takes a host's MAC (its script's owner)
#   dl_spawn NAME CMD...     runs CMD inside $DL_NS as a child of this shell; log $DL_TMP/NAME.log
#   dl_kill PID              ends one process we started (TERM, then KILL)
# Everything is killed by PID and the namespace deleted on exit; nothing touches the host's
# interfaces (all links live inside the namespace). A process still inside $DL_NS or $DL_CNS after
# that (one not started through dl_spawn, or a daemon that forked away) fails the test: it would
# outlive the test with its namespace gone.
set -euo pipefail

DL_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DL_ROOT=$(cd "$DL_LIB/../.." && pwd)
DL_SERVER=10.77.0.1
DL_PIDS=()
DL_NS=
DL_CNS=
DL_TMP=
DL_EXTRA_NS=()  # more client namespaces (lan_client.sh dl_lan_pc NAME), deleted on exit

dl_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
dl_fail() {
  if [ -n "$DL_TMP" ] && [ -s "$DL_TMP/diskless.log" ]; then
    echo "---- diskless log (last 30 lines) ----" >&2
    tail -n 30 "$DL_TMP/diskless.log" >&2
  fi
  echo "FAIL: $*" >&2
  exit 1
}

dl_kill() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

dl_cleanup() {
  local rc=$?
  set +e
  local pid
  for pid in "${DL_PIDS[@]}"; do dl_kill "$pid"; done
  dl_reap_survivors || rc=1
  [ -n "$DL_NS" ] && ip netns del "$DL_NS" 2>/dev/null
  [ -n "$DL_CNS" ] && ip netns del "$DL_CNS" 2>/dev/null
  for ns in "${DL_EXTRA_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
  if [ -n "$DL_TMP" ]; then
    if [ "${DL_KEEP_LOGS:-}" = always ] || { [ $rc -ne 0 ] && [ -n "${DL_KEEP_LOGS:-}" ]; }; then
      echo "logs kept in $DL_TMP" >&2
    else
      rm -rf "$DL_TMP"
    fi
  fi
  exit $rc  # from the EXIT trap: a survivor turns a passing test into a failure
}

# Kills whatever still runs inside our namespaces; returns 1 (after saying what) if anything did.
dl_reap_survivors() {
  local ns pids=() p
  for ns in "$DL_NS" "$DL_CNS" "${DL_EXTRA_NS[@]}"; do
    [ -n "$ns" ] || continue
    for p in $(ip netns pids "$ns" 2>/dev/null); do pids+=("$p"); done
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  echo "FAIL: process(es) started by this test outlived it:" >&2
  ps -o pid=,args= -p "$(IFS=,; echo "${pids[*]}")" >&2 || true
  for p in "${pids[@]}"; do dl_kill "$p"; done
  return 1
}

dl_init() {
  local prefix=$1
  [ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces, taps)" >&2; exit 1; }
  DL_TMP=$(mktemp -d "/tmp/$prefix.XXXXXX")
  DL_NS="$prefix-$$"
  trap dl_cleanup EXIT
  trap 'exit 130' INT TERM
}

dl_net() {
  local taps=${1:-1} i
  ip netns add "$DL_NS"
  local x="ip netns exec $DL_NS"
  $x ip link set lo up
  $x ip link add br0 type bridge
  # No STP/forward delay: the PC's first DHCP packet must not wait for the bridge to learn.
  $x ip link set br0 type bridge forward_delay 0 stp_state 0
  $x ip addr add "$DL_SERVER/24" dev br0
  $x ip -6 addr add fd77::1/64 dev br0 nodad
  $x ip link set br0 up
  for ((i = 0; i < taps; i++)); do
    $x ip tuntap add dev "tap$i" mode tap
    $x ip link set "tap$i" master br0 up
  done
}

dl_lo() {
  ip netns add "$DL_NS"
  ip -n "$DL_NS" link set lo up
}

# dl_veth [MAC]: server namespace $DL_NS (dls0, 10.77.1.1/24) and client namespace $DL_CNS
# (dlc0, 10.77.1.2/24, with MAC when given: a host's boot script goes only to the PC whose
# address has the host's MAC, so a client fetching one must wear it).
dl_veth() {
  DL_CNS="$DL_NS-c"
  DL_CDEV=dlc0
  ip netns add "$DL_NS"
  ip netns add "$DL_CNS"
  ip -n "$DL_NS" link add dls0 type veth peer name dlc0 netns "$DL_CNS"
  [ -n "${1:-}" ] && ip -n "$DL_CNS" link set dlc0 address "$1"
  ip -n "$DL_NS" addr add 10.77.1.1/24 dev dls0
  ip -n "$DL_CNS" addr add 10.77.1.2/24 dev dlc0
  local n
  for n in "$DL_NS" "$DL_CNS"; do ip -n "$n" link set lo up; done
  ip -n "$DL_NS" link set dls0 up
  ip -n "$DL_CNS" link set dlc0 up
}

# dl_client_mac MAC [NS DEV]: the client (default $DL_CNS's $DL_CDEV) takes MAC, to fetch that
# host's boot script as its owner. Both sides forget their neighbour entries, so the client's
# next packet starts with an ARP request that teaches the server the new MAC (as a PC's boot
# does).
dl_client_mac() {
  local mac=$1 ns=${2:-$DL_CNS} dev=${3:-$DL_CDEV}
  ip -n "$ns" link set "$dev" address "$mac"
  ip -n "$ns" neigh flush all
  ip -n "$DL_NS" neigh flush all
}

dl_spawn() {
  local name=$1
  shift
  ip netns exec "$DL_NS" "$@" >"$DL_TMP/$name.log" 2>&1 &
  DL_PIDS+=($!)
  DL_LAST_PID=$!
}

# Waits until a TCP/UDP port is bound inside the namespace (ss), or fails after ~10 s.
dl_wait_port() {
  local proto=$1 port=$2 i
  for i in $(seq 1 100); do
    if ip netns exec "$DL_NS" ss -Hln"${proto:0:1}" "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.1
  done
  dl_fail "nothing listens on $proto port $port in $DL_NS"
}
