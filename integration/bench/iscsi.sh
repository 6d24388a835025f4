#!/usr/bin/env bash
# iSCSI bench: diskless vs tgt (tgtd) in the same run, same 1 GiB file-backed LUN in page cache,
# inside a network namespace (loopback-free: 10.77.0.1 on a bridge, client in the same netns).
#   reads:  iscsi-perf sequential 1 MiB QD8 and random 4 KiB QD32
#   writes: iscsi_write_load (ours, libiscsi async API) sequential 1 MiB QD8
# Medians of 3 runs each and the diskless/tgt ratios.
# Usage: integration/bench/iscsi.sh path/to/diskless [seconds-per-run]   (root)
set -euo pipefail
bin=$(readlink -f "$1")
secs=${2:-8}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/diskless.sh"
. "$here/../lib/peers.sh"
. "$here/../lib/iscsi_perf.sh"
dl_init dlibench
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
g++ -O2 -std=c++20 "$here/iscsi_write_load.cpp" -o write_load -liscsi
mkdir images state
dd if=/dev/urandom of=images/lun.img bs=1M count=1024 status=none
cat images/lun.img > /dev/null  # into the page cache
dl_lun_inventory diskless.xml 3260 state 'disk="images/lun.img"'
dl_spawn diskless "$bin" -c diskless.xml --log-level warn serve
dl_wait_port tcp 3260
dl_tgt iqn.2026-11.bench:tgt images/lun.img 3261

ours="iscsi://$S:3260/$IQN:bench/0"
peer="iscsi://$S:3261/iqn.2026-11.bench:tgt/1"
init=iqn.2026-11.bench:initiator

declare -A res
# Runs alternate between the two targets so that background load hits both alike.
for run in 1 2 3; do
  for who in ours peer; do
    url=${!who}
    seq_line=$(dl_perf "$url" 2048 8)
    rnd_line=$(dl_perf "$url" 8 32 -r)
    wr_line=$($x ./write_load "$url" "$init" 1048576 8 "$secs")
    echo "$who run $run: seq[$seq_line] rand[$rnd_line] write[$wr_line]" >&2
    res[$who,seq]+="$(dl_field '[0-9.]+ MB/s' <<<"$seq_line")"$'\n'
    res[$who,rnd]+="$(dl_field 'iops average [0-9.]+' <<<"$rnd_line")"$'\n'
    res[$who,wr]+="$(dl_field '[0-9.]+ MiB/s' <<<"$wr_line")"$'\n'
  done
done
printf "%-34s %12s %12s %8s\n" "metric (median of 3)" diskless tgt ratio
dl_ratio_row "read 1 MiB seq QD8 (MB/s)" "${res[ours,seq]}" "${res[peer,seq]}"
dl_ratio_row "read 4 KiB random QD32 (IOPS)" "${res[ours,rnd]}" "${res[peer,rnd]}"
dl_ratio_row "write 1 MiB seq QD8 (MiB/s)" "${res[ours,wr]}" "${res[peer,wr]}"
