#!/usr/bin/env bash
# A/B bench of two diskless builds (e.g. before and after a refactoring), same run, same LUN in
# page cache: both servers run side by side and iscsi-perf alternates between them. Besides
# throughput it prints each server's CPU time per I/O (utime+stime from /proc/PID/stat), which
# stays comparable when the machine is busy and throughput is not.
# Usage: integration/bench/ab_iscsi.sh OLD/diskless NEW/diskless [rounds] [seconds]   (root)
set -euo pipefail
a=$(readlink -f "$1") b=$(readlink -f "$2")
rounds=${3:-4} secs=${4:-6}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/common.sh"
. "$here/../lib/diskless.sh"
dl_init dlab
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
mkdir -p images A/state B/state
dd if=/dev/urandom of=images/lun.img bs=1M count=512 status=none
cat images/lun.img > /dev/null
for side in A B; do
  port=$([ $side = A ] && echo 3260 || echo 3262)
  dl_lun_inventory $side/diskless.xml "$port" "$DL_TMP/$side/state" \
    "disk=\"$DL_TMP/images/lun.img\""
done
dl_spawn dA "$a" -c A/diskless.xml --log-level warn serve
pid_a=$DL_LAST_PID
dl_spawn dB "$b" -c B/diskless.xml --log-level warn serve
pid_b=$DL_LAST_PID
dl_wait_port tcp 3260
dl_wait_port tcp 3262
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
run() {  # side pid port blocks qd extra...
  local side=$1 pid=$2 port=$3 blocks=$4 qd=$5; shift 5
  local t0 t1 line iops
  t0=$(ticks "$pid")
  line=$($x timeout $((secs + 20)) iscsi-perf -i iqn.2026-11.bench:i -m "$qd" -b "$blocks" -t "$secs" "$@" \
    "iscsi://$S:$port/$IQN:bench/0" 2>&1 | tr '\r' '\n' | grep -E "iops average" | tail -1)
  t1=$(ticks "$pid")
  iops=$(grep -oE "iops average [0-9.]+" <<<"$line" | grep -oE "[0-9.]+$")
  awk -v s="$side" -v i="$iops" -v d=$((t1 - t0)) -v hz="$hz" -v secs="$secs" \
    'BEGIN { printf "%s %s %.1f\n", s, i, (d / hz) * 1e6 / (i * secs) }'
}
for r in $(seq 1 "$rounds"); do
  order="A B"; [ $((r % 2)) = 0 ] && order="B A"
  for side in $order; do
    pid=$([ $side = A ] && echo $pid_a || echo $pid_b)
    port=$([ $side = A ] && echo 3260 || echo 3262)
    echo "rand $(run $side $pid $port 8 32 -r)"
    echo "seq $(run $side $pid $port 2048 8)"
  done
done | tee results.txt >&2
printf "%-28s %12s %12s %14s %14s\n" "metric (median)" "A IOPS" "B IOPS" "A CPU us/IO" "B CPU us/IO"
for m in rand seq; do
  med() { grep "^$m $1 " results.txt | awk "{print \$$2}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
  printf "%-28s %12s %12s %14s %14s\n" "$m ($([ $m = rand ] && echo '4 KiB QD32' || echo '1 MiB QD8'))" \
    "$(med A 3)" "$(med B 3)" "$(med A 4)" "$(med B 4)"
done
