#!/usr/bin/env bash
# The boot storm: N simulated PCs (bench/storm_pc.cpp) power on within STORM_SPREAD_MS of each
# other and boot like BIOS PCs with a PXE ROM: PXE DHCP, undionly.kpxe over TFTP (lock-step,
# block size 1432), iPXE DHCP, the iPXE script, iSCSI login, a replay of a recorded boot's block
# I/O (bench/traces/linux_iscsi_root.trace: the firmware's reads, then the OS's initiator taking
# over with its own reads and writes), a short steady phase. A PC is up when its trace has been
# replayed. Rounds alternate between the servers, same machine, same run:
#   diskless  full DHCP, every PC boot="sanboot" overlay="volatile" on one golden image
#   peer      dnsmasq (DHCP + TFTP: loader and script; tuned: no-ping, tftp-max 1024 instead of
#             its 50, beyond which PCs time out fetching their script) + tgt; tgt cannot layer copy-on-write, so
#             every PC gets its own sparse copy of the golden image (cp --sparse=always) as its
#             LUN 1 (fresh each round)
# Per round: PCs up, failures by step, time-to-up p50/p95/p99/max (from each PC's power-on),
# the server's CPU seconds and peak RSS (dnsmasq + tgtd summed for the peer; /proc of the
# server processes, all threads), bytes the server read from disk (/proc/PID/io read_bytes, the
# page cache hides most: the golden image is warm) and through read calls (rchar), bytes the PCs
# received, and the generator's own CPU seconds; then where the time went: per step, the p50 and
# p99 over the PCs (dhcp-pxe, tftp-loader, dhcp-ipxe, script, login, replay-fw, takeover: the
# firmware-to-OS gap of the trace scaled by STORM_THINK, replay-os).
#
# Network: the servers live in $DL_NS on veth srv0 (10.77.0.1/16); the PCs are macvlans
# mv0..mv<N-1> (their own MACs, 02:5a:...) on the veth's other end in $DL_CNS; each PC's address
# is put on its macvlan when its DHCP ends.
#
# Usage: sudo integration/bench/storm.sh [PATH/TO/diskless] [N] [ROUNDS]  (build/diskless, 50, 1)
# STORM_SERVERS="diskless peer" picks/orders the servers; STORM_THINK (0.1: the trace's gaps
# scaled by it), STORM_SPREAD_MS (3000), STORM_STEADY_MS (2000), STORM_QD (8),
# STORM_TRACE (the trace file), STORM_CHAP=1 (CHAP logins), STORM_TFTP_ATTRS and
# STORM_ISCSI_ATTRS (attributes added to diskless's <tftp> and <iscsi>: above 256 PCs its
# default max-transfers="256" answers "server busy" to the ROMs beyond it, e.g.
# STORM_TFTP_ATTRS='max-transfers="1024"' STORM_ISCSI_ATTRS='max-connections="1024"'). Exit 1 when a round had a PC that did not come up.
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/lib/common.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:-$here/../build/diskless}")
n=${2:-50}
rounds=${3:-1}
servers=${STORM_SERVERS:-diskless peer}
trace=${STORM_TRACE:-$here/bench/traces/linux_iscsi_root.trace}
build_dir=${DISKLESS_BUILD_DIR:-$(dirname "$bin")}
P=iqn.2026-11.lan.peer

dl_init dlstorm
DL_CNS="$DL_NS-c"

# storm_pc: the build's (CMake target storm_pc, with libiscsi), else compiled here.
gen=$build_dir/integration/storm_pc
if [ ! -x "$gen" ]; then
  gen=$DL_TMP/storm_pc
  g++ -std=c++20 -O2 -o "$gen" "$here"/bench/storm_pc.cpp "$here"/bench/storm_replay.cpp \
    "$here"/bench/storm_wire.cpp "$here"/bench/storm_netlink.cpp -liscsi
fi

# ---- network: srv0 (server) <-> lan0 (client namespace) with N macvlans on lan0 ----
ip netns add "$DL_NS"
ip netns add "$DL_CNS"
ip -n "$DL_NS" link add srv0 type veth peer name lan0 netns "$DL_CNS"
ip -n "$DL_NS" addr add "$DL_SERVER/16" dev srv0
ip -n "$DL_NS" link set lo up
ip -n "$DL_NS" link set srv0 up
cx="ip netns exec $DL_CNS"
# No IPv6 on the PCs (no router solicitations or DAD from N interfaces); a PC's ARP answers
# only for its own address on its own macvlan.
$cx sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
  net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
  net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip -n "$DL_CNS" link set lo up
ip -n "$DL_CNS" link set lan0 up
mac_of() { printf '02:5a:00:%02x:%02x:%02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
for ((i = 0; i < n; i++)); do
  echo "link add mv$i link lan0 address $(mac_of $i) type macvlan mode bridge"
  echo "link set mv$i up"
done > "$DL_TMP/links.batch"
ip -n "$DL_CNS" -batch "$DL_TMP/links.batch"

# ---- images: the golden disk; the loader ----
"$here/images/ext4_disk.sh" "$DL_TMP/root.img"
mkdir -p "$DL_TMP/tftp" "$DL_TMP/peer-tftp"
cp /usr/lib/ipxe/undionly.kpxe "$DL_TMP/tftp/"
cp /usr/lib/ipxe/undionly.kpxe "$DL_TMP/peer-tftp/"

# STORM_CHAP=1: every PC logs in with CHAP (the script's username/password; tgt: one account
# bound to every target).
chap_user=stormpc chap_secret=storm-secret-1 chap_attrs= chap_set=
if [ "${STORM_CHAP:-0}" = 1 ]; then
  chap_attrs=" chap-user=\"$chap_user\" chap-secret=\"$chap_secret\""
  chap_set="set username $chap_user
set password $chap_secret"
fi
hosts=
for ((i = 0; i < n; i++)); do
  hosts+="<host mac=\"$(mac_of $i)\" name=\"pc$i\" image=\"golden\" boot=\"sanboot\" overlay=\"volatile\"$chap_attrs/>
"
done
cat > "$DL_TMP/diskless.xml" <<XML
<diskless version="1">
  <server address="$DL_SERVER" interface="srv0">
    <dhcp mode="full" range="10.77.1.1-10.77.4.250" netmask="255.255.0.0" router="$DL_SERVER"/>
    <tftp root="tftp" ${STORM_TFTP_ATTRS:-}/>
    <iscsi port="3260" iqn="iqn.2026-11.lan.diskless" ${STORM_ISCSI_ATTRS:-}/>
    <http port="8080" enabled="true"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="golden" disk="root.img"/>
  </images>
  <hosts unknown="ignore">
$hosts  </hosts>
</diskless>
XML

# The peer's script: what templates/sanboot.ipxe renders for diskless, by hand (tgt's disk is
# LUN 1: its LUN 0 is the controller). Each PC its own initiator and target.
cat > "$DL_TMP/peer-tftp/boot.ipxe" <<S
#!ipxe
set initiator-iqn $P:initiator:\${net0/mac:hexhyp}
$chap_set
sanboot iscsi:$DL_SERVER:::1:$P:\${net0/mac:hexhyp} || goto fail
:fail
poweroff
S

# ---- measuring a server process set: CPU ticks, peak RSS, read bytes ----
ticks() {  # utime + stime of every PID given (all threads)
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  echo $t
}
io_field() {  # FIELD PIDS...: the sum of one /proc/PID/io field
  local f=$1 t=0 p
  shift
  for p in "$@"; do t=$((t + $(awk -v f="$f:" '$1 == f {print $2}' "/proc/$p/io"))); done
  echo $t
}
hwm_kb() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '/^VmHWM:/ {print $2}' "/proc/$p/status"))); done
  echo $t
}

start_diskless() {
  rm -rf "$DL_TMP/state"
  dl_serve "$bin" "$DL_TMP/diskless.xml"
  SERVER_PIDS=("$DL_DISKLESS_PID")
}
stop_diskless() { dl_kill "$DL_DISKLESS_PID"; }

start_peer() {
  rm -f "$DL_TMP/dnsmasq.leases"
  dl_spawn dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=srv0 \
    --bind-interfaces --dhcp-range=10.77.1.1,10.77.4.250,255.255.0.0,1h --no-ping \
    --dhcp-leasefile="$DL_TMP/dnsmasq.leases" --dhcp-authoritative \
    --dhcp-lease-max=10000 --enable-tftp --tftp-root="$DL_TMP/peer-tftp" --tftp-max=1024 \
    --dhcp-match=set:ipxe,175 --dhcp-boot=tag:!ipxe,undionly.kpxe,,$DL_SERVER \
    --dhcp-boot=tag:ipxe,boot.ipxe,,$DL_SERVER --dhcp-option=tag:ipxe,encap:175,176,1b
  local dns=$DL_LAST_PID
  dl_wait_port udp 67
  local ctl=$((($$ % 20000) + 1000))
  dl_spawn tgtd tgtd -f -C "$ctl" --iscsi portal="$DL_SERVER:3260"
  local tgt=$DL_LAST_PID
  dl_wait_port tcp 3260
  rm -rf "$DL_TMP/peer-disks"
  mkdir -p "$DL_TMP/peer-disks"
  local i m t="tgtadm -C $ctl --lld iscsi"
  [ -z "$chap_set" ] || $t --op new --mode account --user "$chap_user" --password "$chap_secret"
  for ((i = 0; i < n; i++)); do
    m=$(mac_of $i)
    cp --sparse=always "$DL_TMP/root.img" "$DL_TMP/peer-disks/$i.img"
    $t --op new --mode target --tid $((i + 1)) -T "$P:${m//:/-}"
    $t --op new --mode logicalunit --tid $((i + 1)) --lun 1 -b "$DL_TMP/peer-disks/$i.img"
    $t --op bind --mode target --tid $((i + 1)) -I ALL
    [ -z "$chap_set" ] || $t --op bind --mode account --tid $((i + 1)) --user "$chap_user"
  done
  SERVER_PIDS=("$dns" "$tgt")
}
stop_peer() { local p; for p in "${SERVER_PIDS[@]}"; do dl_kill "$p"; done; }

round() {
  local s=$1 r=$2 i
  for ((i = 0; i < n; i++)); do echo "addr flush dev mv$i"; done > "$DL_TMP/flush.batch"
  ip -n "$DL_CNS" -batch "$DL_TMP/flush.batch"
  ip -n "$DL_NS" neigh flush all
  "start_$s"
  sleep 1
  local t0 c0 rb0 rc0 tck
  tck=$(getconf CLK_TCK)
  c0=$(ticks "${SERVER_PIDS[@]}")
  rb0=$(io_field read_bytes "${SERVER_PIDS[@]}")
  rc0=$(io_field rchar "${SERVER_PIDS[@]}")
  t0=$(date +%s.%N)
  local out=$DL_TMP/storm-$s-$r.txt rc=0
  $cx "$gen" --lower lan0 --pcs "$n" --trace "$trace" --spread-ms "${STORM_SPREAD_MS:-3000}" \
    --think "${STORM_THINK:-0.1}" --steady-ms "${STORM_STEADY_MS:-2000}" --qd "${STORM_QD:-8}" \
    > "$out" 2>&1 || rc=$?
  local wall cpu rss rb rc_
  wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  cpu=$(awk -v a="$c0" -v b="$(ticks "${SERVER_PIDS[@]}")" -v t="$tck" 'BEGIN {printf "%.2f", (b - a) / t}')
  rss=$(($(hwm_kb "${SERVER_PIDS[@]}") / 1024))
  rb=$(($(io_field read_bytes "${SERVER_PIDS[@]}") - rb0))
  rc_=$(($(io_field rchar "${SERVER_PIDS[@]}") - rc0))
  "stop_$s"
  local sum
  sum=$(grep '^summary' "$out" || echo "summary (none: storm_pc rc=$rc)")
  grep ' fail ' "$out" | head -5 >&2 || true
  printf 'round %s %-8s N=%d wall_s=%.1f server_cpu_s=%s server_peak_rss_mb=%s disk_read_bytes=%s read_call_bytes=%s %s\n' \
    "$r" "$s" "$n" "$wall" "$cpu" "$rss" "$rb" "$rc_" "${sum#summary }" | tee -a "$DL_TMP/results.txt"
  echo "        $s $(grep '^steps_ms' "$out" || true)" | tee -a "$DL_TMP/results.txt"
  [ "$rc" = 0 ] || STORM_RC=1
}

STORM_RC=0
for ((r = 1; r <= rounds; r++)); do
  for s in $servers; do round "$s" "$r"; done
done
echo "== storm N=$n (think ${STORM_THINK:-0.1}, spread ${STORM_SPREAD_MS:-3000} ms)"
cat "$DL_TMP/results.txt"
exit $STORM_RC
