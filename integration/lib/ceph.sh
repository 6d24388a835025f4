# A one-node Ceph cluster for the RBD tests and benches (Debian's ceph-mon, ceph-mgr, ceph-osd;
# Ceph 16 Pacific): one monitor, one manager and one OSD keeping its objects in memory
# (memstore), no authentication, pools of one replica. Source it after lib/common.sh and call
# dl_init + dl_net/dl_lo first: the daemons run inside $DL_NS (dl_spawn, so the EXIT trap ends
# them) and listen on 127.0.0.1 there only, so no other cluster can answer our clients.
#   ceph_up [POOL]   writes $DL_TMP/ceph/ceph.conf ($CEPH_CONF), starts the daemons, creates
#                    and initialises POOL (default rbd); returns once RBD images can be made
#   cephx CMD...     runs a client (ceph, rbd, qemu-img...) in $DL_NS against the cluster
#   ceph_down        stops the OSD, then the manager, then the monitor
#   ceph_missing     prints what is missing to run a cluster (empty: nothing)
CEPH_DIR=
CEPH_CONF=
CEPH_PIDS=()

ceph_missing() {
  local c
  for c in ceph-mon ceph-mgr ceph-osd ceph rbd; do
    command -v "$c" >/dev/null || echo -n "$c "
  done
}

cephx() { ip netns exec "$DL_NS" env CEPH_CONF="$CEPH_CONF" "$@"; }
ceph_cmd() { cephx timeout 30 ceph --connect-timeout 10 "$@"; }

ceph_write_conf() {
  local fsid=$1
  cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:3300]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = false
client mount timeout = 30
run dir = $CEPH_DIR/run
crash dir = $CEPH_DIR/crash
admin socket = \$run_dir/\$name.\$pid.asok
log file = $CEPH_DIR/log/\$name.log
# One OSD: pools of one replica, no failure domain above the OSD, no warnings about it.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
# Clones without protected snapshots (what diskless makes per host).
rbd default clone format = 2
# Monitor map changes committed after 0.1 s instead of 1 s: a faster start.
paxos propose interval = 0.1
mgr initial modules = iostat

[mon]
public addr = v2:127.0.0.1:3300
mon data = $CEPH_DIR/mon/\$id

[mgr]
mgr data = $CEPH_DIR/mgr/\$id
# Python modules a block-storage test does not need (each costs start time).
mgr disabled modules = alerts diskprediction_local influx insights localpool mirroring nfs osd_perf_query osd_support prometheus restful selftest snap_schedule stats telegraf test_orchestrator zabbix

[osd]
osd data = $CEPH_DIR/osd/\$id
osd objectstore = memstore
memstore device bytes = ${CEPH_OSD_BYTES:-2147483648}
osd crush update on start = false
osd class load list = *
osd class default list = *
CONF
}

# Retries CMD every 0.5 s until it succeeds or SECONDS have passed.
ceph_retry() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  dl_fail "ceph: timed out waiting for $what (logs: $CEPH_DIR/log)"
}

ceph_up() {
  local pool=${1:-rbd} fsid uuid id
  CEPH_DIR=$DL_TMP/ceph
  CEPH_CONF=$CEPH_DIR/ceph.conf
  mkdir -p "$CEPH_DIR"/{mon/a,mgr/x,osd/0,log,run,crash}
  fsid=$(cat /proc/sys/kernel/random/uuid)
  ceph_write_conf "$fsid"
  cephx ceph-mon -i a --mkfs --keyring /dev/null >"$CEPH_DIR/log/mkfs.log" 2>&1 ||
    dl_fail "ceph-mon --mkfs: $(tail -3 "$CEPH_DIR/log/mkfs.log")"
  dl_spawn ceph-mon env CEPH_CONF="$CEPH_CONF" ceph-mon -i a -f
  CEPH_PIDS+=($DL_LAST_PID)
  ceph_retry "the monitor" 60 test "$(ceph_cmd fsid 2>/dev/null)" = "$fsid"
  ceph_cmd config set mgr mgr/devicehealth/enable_monitoring false --force >/dev/null
  dl_spawn ceph-mgr env CEPH_CONF="$CEPH_CONF" ceph-mgr -i x -f
  CEPH_PIDS+=($DL_LAST_PID)
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph_cmd osd new "$uuid")
  [ "$id" = 0 ] || dl_fail "ceph osd new gave id '$id'"
  ceph_cmd osd crush add osd.0 1 root=default >/dev/null 2>&1
  cephx ceph-osd -i 0 --mkfs --osd-uuid "$uuid" >>"$CEPH_DIR/log/mkfs.log" 2>&1 ||
    dl_fail "ceph-osd --mkfs: $(tail -3 "$CEPH_DIR/log/mkfs.log")"
  dl_spawn ceph-osd env CEPH_CONF="$CEPH_CONF" ceph-osd -i 0 -f
  CEPH_PIDS+=($DL_LAST_PID)
  ceph_retry "osd.0 up" 90 bash -c "ip netns exec $DL_NS ceph --conf $CEPH_CONF osd dump | grep -q '^osd.0 up'"
  ceph_cmd osd pool create "$pool" >/dev/null 2>&1
  cephx timeout 120 rbd pool init "$pool" || dl_fail "rbd pool init $pool"
  dl_log "ceph: one-node cluster up (memstore), pool $pool"
}

ceph_down() {
  local i
  # The OSD first (it tells the monitor it goes), the monitor last.
  for ((i = ${#CEPH_PIDS[@]} - 1; i >= 0; i--)); do dl_kill "${CEPH_PIDS[$i]}"; done
  CEPH_PIDS=()
}
