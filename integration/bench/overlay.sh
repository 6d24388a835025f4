#!/usr/bin/env bash
# Overlay bench (per-host overlays, src/disks/README.md): through iSCSI, same server, same run —
# a raw image (overlay="none") against a qcow2 overlay (overlay="persistent") over an identical
# golden image:
#   (a) random 4 KiB reads of unwritten data       iscsi-perf -r -b 8 -m 16, DURATION s, IOPS
#   (b) 4 KiB writes to never-written places (stride 12 KiB; a fresh overlay every run, so every
#       write allocates in the overlay)             qemu-img bench -w -s 4k -S 12k -d 8, IOPS
#   (c) sequential 1 MiB reads after a full overwrite (overlay fully allocated, in guest order)
#                                                   qemu-img bench -s 1M -d 4, MiB/s
#   (d) the same after scattered writes first (overlay fully allocated, interleaved)
# Prints the median of RUNS runs per figure (raw and overlay alternating within each round) and the overlay/raw ratios (aims: reads >= 0.90,
# writes >= 0.70).
# Usage: integration/bench/overlay.sh [path/to/diskless]   (root; not run by ctest)
# Environment: SIZE_MB (default 256), RUNS (default 5), DURATION (default 5), PASSES (default 10:
# sequential reads go over the image that many times)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-build/diskless}")
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
size_mb=${SIZE_MB:-256}
runs=${RUNS:-5}
duration=${DURATION:-5}
passes=${PASSES:-10}
tmp=$(mktemp -d /tmp/dlovl-bench.XXXXXX)
ns=dlovl-bench-$$
spid=
cleanup() {
  set +e
  if [ -n "$spid" ]; then kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; fi
  ip netns del "$ns" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
x="ip netns exec $ns"
IQN=iqn.2026-11.lan.diskless

cd "$tmp"
mkdir state
head -c $((size_mb << 20)) /dev/urandom >gold.img
cp gold.img raw.img
cat >diskless.xml <<XML
<diskless version="1">
  <server address="127.0.0.1">
    <dhcp mode="off"/>
    <iscsi port="3260" iqn="$IQN"/>
    <http enabled="false"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="gold" disk="gold.img"/>
    <image name="raw" disk="raw.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:07:02:01" name="raw" image="raw" boot="sanboot" overlay="none"/>
    <host mac="52:54:00:07:02:02" name="ovl" image="gold" boot="sanboot" overlay="persistent"/>
  </hosts>
</diskless>
XML
(exec $x "$bin" -c diskless.xml --log-level warn serve >diskless.log 2>&1) &
spid=$!
for _ in $(seq 100); do
  $x bash -c "echo > /dev/tcp/127.0.0.1/3260" 2>/dev/null && break
  sleep 0.1
done

opts() { echo "driver=iscsi,transport=tcp,portal=127.0.0.1:3260,lun=0,initiator-name=$IQN:initiator:$1,target=$IQN:$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# (a) iscsi-perf runs until SIGINT and prints a running average.
rand_read() {
  $x timeout -s INT "$duration" iscsi-perf -i "$IQN:initiator:$1" -r -b 8 -m 16 \
    "iscsi://127.0.0.1/$IQN:$1/0" >perf.out 2>&1 || true
  tr '\r' '\n' <perf.out | grep -o 'iops average [0-9]*' | tail -1 | awk '{ print $3 }'
}
# qemu-img bench prints "Run completed in X seconds."
bench_secs() {
  $x qemu-img bench "$@" >bench.out 2>&1 || { cat bench.out >&2; exit 1; }
  sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p' bench.out
}
writes=$(((size_mb << 20) / (12 << 10) - 1))
cluster_write() {
  if [ "$1" = ovl ]; then rm -f state/overlays/52-54-00-07-02-02.qcow2; fi  # fresh overlay (no session open)
  local s
  s=$(bench_secs -w -c "$writes" -d 8 -s 4k -S 12k --image-opts "$(opts "$1")")
  awk -v n="$writes" -v s="$s" 'BEGIN { printf "%.0f", n / s }'
}
# The image is read PASSES times over (qemu-img bench wraps at its end): one pass of 256 MiB
# takes well under 0.1 s, too short to time.
seq_read() {
  local n=$((size_mb * passes)) s
  s=$(bench_secs -c "$n" -d 4 -s 1M -S 1M --image-opts "$(opts "$1")")
  awk -v n="$n" -v s="$s" 'BEGIN { printf "%.1f", n / s }'
}

# raw and overlay alternate within each round, so load from elsewhere on the machine falls on
# both alike.
declare -A res
measure() { # KEY FUNCTION: RUNS rounds of FUNCTION raw / FUNCTION ovl
  local key=$1 fn=$2 h i
  declare -A vals=([raw]="" [ovl]="")
  for i in $(seq "$runs"); do
    for h in raw ovl; do vals[$h]+=" $($fn $h)"; done
  done
  for h in raw ovl; do
    res[${key}_$h]=$(printf '%s\n' ${vals[$h]} | median)
    echo "  $h:${vals[$h]} -> median ${res[${key}_$h]}"
  done
}
echo "== (a) random 4 KiB reads of unwritten data (IOPS)"
measure a rand_read
echo "== (b) 4 KiB allocating writes, stride 12 KiB, depth 8 (IOPS; $writes writes)"
measure b cluster_write
# (c) The overlay is made anew and overwritten front to back, so its clusters lie in guest order
# and 1 MiB reads go out zero-copy like the raw image's. (d) The overlay first gets the scattered
# 4 KiB writes of (b), then the full overwrite: its clusters interleave, a 1 MiB read maps to
# hundreds of runs and takes the copying path (what a long-used overlay looks like).
overwrite() { # HOST [scattered]
  if [ "$1" = ovl ]; then
    rm -f state/overlays/52-54-00-07-02-02.qcow2
    if [ -n "${2:-}" ]; then bench_secs -w -c "$writes" -d 8 -s 4k -S 12k --image-opts "$(opts ovl)" >/dev/null; fi
  fi
  bench_secs -w -c "$size_mb" -d 4 -s 1M -S 1M --image-opts "$(opts "$1")" >/dev/null
}
echo "== (c) sequential 1 MiB reads after a full sequential overwrite (MiB/s)"
for h in raw ovl; do overwrite $h; done
measure c seq_read
echo "== (d) the same after scattered 4 KiB writes and then a full overwrite (MiB/s)"
overwrite ovl scattered
measure d seq_read
echo
echo "summary (median of $runs; overlay / raw):"
printf '  %-44s raw %10s  overlay %10s  ratio %s (aim >= 0.90)\n' "random 4 KiB reads, unwritten (IOPS)" \
  "${res[a_raw]}" "${res[a_ovl]}" "$(ratio "${res[a_ovl]}" "${res[a_raw]}")"
printf '  %-44s raw %10s  overlay %10s  ratio %s (aim >= 0.70)\n' "4 KiB allocating writes (IOPS)" \
  "${res[b_raw]}" "${res[b_ovl]}" "$(ratio "${res[b_ovl]}" "${res[b_raw]}")"
printf '  %-44s raw %10s  overlay %10s  ratio %s (aim >= 0.90)\n' "sequential 1 MiB reads, overwritten (MiB/s)" \
  "${res[c_raw]}" "${res[c_ovl]}" "$(ratio "${res[c_ovl]}" "${res[c_raw]}")"
printf '  %-44s raw %10s  overlay %10s  ratio %s (no aim)\n' "the same, fragmented overlay (MiB/s)" \
  "${res[d_raw]}" "${res[d_ovl]}" "$(ratio "${res[d_ovl]}" "${res[d_raw]}")"
