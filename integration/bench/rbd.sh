#!/usr/bin/env bash
# RBD bench: diskless on librbd vs tgt with tgt-rbd (tgtd --bstype rbd), in the same run, on the
# same one-node memstore cluster (lib/ceph.sh), same 1 GiB image, inside a network namespace.
#   reads: iscsi-perf random 4 KiB QD32 and sequential 1 MiB QD8
# Runs alternate between the two targets; medians of 3 and the diskless/tgt ratios.
# Usage: integration/bench/rbd.sh path/to/diskless [seconds-per-run]   (root; tgt-rbd installed)
set -euo pipefail
bin=$(readlink -f "$1")
secs=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/ceph.sh"
. "$here/../lib/diskless.sh"
. "$here/../lib/iscsi_perf.sh"
ldd "$bin" | grep -q librbd || { echo "SKIP: $bin built without DISKLESS_RBD"; exit 0; }
[ -e /usr/lib/tgt/backing-store/bs_rbd.so ] ||
  { echo "SKIP: tgt-rbd is not installed"; exit 0; }
dl_init dlrbench
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
CEPH_OSD_BYTES=$((3 << 30)) ceph_up rbd
head -c $((1 << 30)) /dev/urandom >lun.raw
cephx rbd import --no-progress lun.raw rbd/lun
rm lun.raw
dl_lun_inventory diskless.xml 3260 state "rbd=\"rbd/lun\" ceph-conf=\"$CEPH_CONF\""
mkdir state
dl_spawn diskless "$bin" -c diskless.xml --log-level warn serve
dl_wait_port tcp 3260
# tgtd with its rbd backing store; its control socket is private (-C) so runs do not meet.
ctl=$(( ($$ % 20000) + 1000 ))
dl_spawn tgtd env CEPH_CONF="$CEPH_CONF" tgtd -f -C "$ctl" --iscsi portal="$S:3261"
tgt_pid=$DL_LAST_PID
dl_wait_port tcp 3261
t="tgtadm -C $ctl --lld iscsi"
$t --op new --mode target --tid 1 -T iqn.2026-11.bench:tgt
$t --op new --mode logicalunit --tid 1 --lun 1 --bstype rbd --backing-store rbd/lun \
  --bsopts "conf=$CEPH_CONF"
$t --op bind --mode target --tid 1 -I ALL
stop_tgt() {
  $t --op delete --mode target --tid 1 --force 2>/dev/null || true
  tgtadm -C "$ctl" --mode system --op delete 2>/dev/null || true
  dl_kill "$tgt_pid"
  rm -f "/var/run/tgtd/socket.$ctl" "/var/run/tgtd/socket.$ctl.lock"
}
trap 'stop_tgt; dl_cleanup' EXIT

ours="iscsi://$S:3260/$IQN:bench/0"
peer="iscsi://$S:3261/iqn.2026-11.bench:tgt/1"
init=iqn.2026-11.bench:initiator
declare -A res
for run in 1 2 3; do
  for who in ours peer; do
    url=${!who}
    rnd_line=$(dl_perf "$url" 8 32 -r)
    seq_line=$(dl_perf "$url" 2048 8)
    echo "$who run $run: rand[$rnd_line] seq[$seq_line]" >&2
    res[$who,rnd]+="$(dl_field 'iops average [0-9.]+' <<<"$rnd_line")"$'\n'
    res[$who,seq]+="$(dl_field '[0-9.]+ MB/s' <<<"$seq_line")"$'\n'
  done
done
printf "%-34s %12s %12s %8s\n" "metric (median of 3)" diskless tgt-rbd ratio
dl_ratio_row "read 4 KiB random QD32 (IOPS)" "${res[ours,rnd]}" "${res[peer,rnd]}"
dl_ratio_row "read 1 MiB seq QD8 (MB/s)" "${res[ours,seq]}" "${res[peer,seq]}"
