#!/usr/bin/env bash
# DHCP bench: Kea's perfdhcp against diskless (full mode) and dnsmasq in the same run, in
# namespaces this script creates. perfdhcp acts as a relay (unicast to the server, giaddr = its
# own address), so both servers see the same traffic and answer to port 67 of the relay.
#   - DORA exchanges per second: perfdhcp -r RATE for DURATION s over 10,000 distinct MACs,
#     3 runs per server alternating, median and ratio printed.
#   - memory: RSS of each server once it holds 10,000 leases (and at start, for reference).
# Both persist leases durably: diskless appends to its journal and fdatasyncs once per batch
# (group commit) before sending the ACKs of that batch; dnsmasq (2.90) rewrites its whole
# --dhcp-leasefile and fsyncs it after changes. dnsmasq runs with --no-ping (otherwise it pings
# every address before offering it and waits), --dhcp-lease-max=100000 (default 1000),
# --quiet-dhcp (no log line per packet; diskless logs per packet only at debug, we run info).
# Memory: each server is started on a lease file/journal of 10,000 leases written by this script
# (filling dnsmasq through DHCP would take minutes at its rate), then RSS is read after one DORA.
# Usage: integration/bench/dhcp.sh /path/to/diskless [duration-seconds] [rate]
set -euo pipefail
BIN=$(realpath "$1")
DURATION=${2:-10}
RATE=${3:-40000}
CLIENTS=10000
TAG="dlbd$$"
SRV="${TAG}s" CL="${TAG}c"
TMP=$(mktemp -d /tmp/dldhcp-bench.XXXXXX)
SERVER_PID=

cleanup() {
  set +e
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$SRV" 2>/dev/null
  ip netns del "$CL" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$SRV"
ip netns add "$CL"
ip -n "$SRV" link add lan0 type veth peer name cl0
ip -n "$SRV" link set cl0 netns "$CL"
ip -n "$SRV" addr add 10.77.0.1/16 dev lan0
ip -n "$CL" addr add 10.77.0.2/16 dev cl0
for ns in "$SRV" "$CL"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set lan0 up
ip -n "$CL" link set cl0 up

cat >"$TMP/inv.xml" <<XML
<diskless version="1">
  <server address="10.77.0.1" interface="lan0">
    <dhcp mode="full" range="10.77.1.0-10.77.200.255" netmask="255.255.0.0" router="10.77.0.1"
          lease-time="1h"/>
    <tftp root="tftp" port="6969"/>
    <iscsi port="13260"/>
    <http port="18080" enabled="false"/>
    <state dir="state"/>
  </server>
  <images/>
  <hosts unknown="local"/>
</diskless>
XML
mkdir -p "$TMP/tftp"

wait_udp67() {
  for _ in $(seq 1 100); do
    ip netns exec "$SRV" ss -Hlnu "sport = :67" | grep -q . && return 0
    sleep 0.1
  done
  echo "server did not bind port 67" >&2
  exit 1
}

start_diskless() {
  rm -rf "$TMP/state"
  ip netns exec "$SRV" env -C "$TMP" "$BIN" -c "$TMP/inv.xml" --log-level info serve \
    >"$TMP/diskless.log" 2>&1 &
  SERVER_PID=$!
  wait_udp67
}

start_dnsmasq() {
  rm -f "$TMP/dnsmasq.leases"
  ip netns exec "$SRV" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --interface=lan0 \
    --bind-interfaces --dhcp-range=10.77.1.0,10.77.200.255,255.255.0.0,1h \
    --dhcp-leasefile="$TMP/dnsmasq.leases" --no-ping --dhcp-lease-max=100000 --quiet-dhcp \
    --pid-file >"$TMP/dnsmasq.log" 2>&1 &
  SERVER_PID=$!
  wait_udp67
}

stop_server() {
  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }

# One perfdhcp run; prints the 4-way exchange rate.
perf() {
  ip netns exec "$CL" perfdhcp -4 -r "$RATE" -R "$CLIENTS" -p "$DURATION" -l 10.77.0.2 \
    10.77.0.1 >"$TMP/perf.out" 2>&1 || true
  local r
  r=$(awk '/^Rate:/ {print $2; exit}' "$TMP/perf.out")
  if [ -z "$r" ]; then
    cat "$TMP/perf.out" >&2
    echo 0
  else
    echo "$r"
  fi
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Writes 10,000 unexpired leases in each server's own format.
write_leases() {
  local exp=$(($(date +%s) + 3600))
  mkdir -p "$TMP/state"
  awk -v e="$exp" 'BEGIN {
    for (i = 0; i < 10000; i++) {
      mac = sprintf("52:54:01:00:%02x:%02x", int(i / 256), i % 256)
      ip = sprintf("10.77.%d.%d", 1 + int(i / 256), i % 256)
      printf "B %s %s %d\n", mac, ip, e > "'"$TMP"'/journal"
      printf "%d %s %s * *\n", e, mac, ip > "'"$TMP"'/dnsmasq.preload"
    }
  }'
}

# One DORA (perfdhcp -n 1) so the server has really answered with the table loaded.
one_dora() {
  ip netns exec "$CL" perfdhcp -4 -n 1 -l 10.77.0.2 10.77.0.1 >/dev/null 2>&1 || true
}

echo "perfdhcp: rate $RATE/s requested, $CLIENTS client MACs, $DURATION s per run; $(nproc) cores"
declare -a D=() Q=()
for run in 1 2 3; do
  start_diskless
  D+=("$(perf)")
  stop_server
  start_dnsmasq
  Q+=("$(perf)")
  stop_server
  echo "run $run: diskless ${D[-1]} DORA/s, dnsmasq ${Q[-1]} DORA/s"
done
md=$(median "${D[@]}")
mq=$(median "${Q[@]}")
echo "median DORA/s: diskless $md, dnsmasq $mq, ratio $(awk -v a="$md" -v b="$mq" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')"

write_leases
start_diskless
r0=$(rss_kb)
stop_server
start_dnsmasq
q0=$(rss_kb)
stop_server
rm -rf "$TMP/state"
mkdir -p "$TMP/state"
cp "$TMP/journal" "$TMP/state/dhcp-leases.journal"
ip netns exec "$SRV" env -C "$TMP" "$BIN" -c "$TMP/inv.xml" --log-level info serve \
  >"$TMP/diskless.log" 2>&1 &
SERVER_PID=$!
wait_udp67
one_dora
r1=$(rss_kb)
n=$(grep -o '[0-9]* leases' "$TMP/diskless.log" | head -1)
stop_server
cp "$TMP/dnsmasq.preload" "$TMP/dnsmasq.leases"
ip netns exec "$SRV" dnsmasq --no-daemon --port=0 --conf-file=/dev/null --interface=lan0 \
  --bind-interfaces --dhcp-range=10.77.1.0,10.77.200.255,255.255.0.0,1h \
  --dhcp-leasefile="$TMP/dnsmasq.leases" --no-ping --dhcp-lease-max=100000 --quiet-dhcp \
  --pid-file >"$TMP/dnsmasq.log" 2>&1 &
SERVER_PID=$!
wait_udp67
one_dora
q1=$(rss_kb)
m=$(wc -l <"$TMP/dnsmasq.leases")
stop_server
echo "diskless RSS: ${r0} KiB empty, ${r1} KiB with 10,000 leases loaded (log: ${n}); +$((r1 - r0)) KiB"
echo "dnsmasq  RSS: ${q0} KiB empty, ${q1} KiB with 10,000 leases loaded (file: ${m} lines); +$((q1 - q0)) KiB"
