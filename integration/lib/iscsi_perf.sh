# iscsi-perf helpers shared by the iSCSI benches (source after common.sh; they use $x, the
# namespace prefix, $init, the initiator name, and $secs, the seconds per run).
#   dl_perf URL BLOCKS QD [iscsi-perf args]   one run; prints iscsi-perf's last figures line
#   dl_field REGEX                            the number in the first match of REGEX on stdin
#   dl_median                                 the median of 3 numbers on stdin
#   dl_ratio_row NAME OURS PEER               a table row: both medians and ours/peer
dl_perf() {
  local url=$1 blocks=$2 qd=$3
  shift 3
  # iscsi-perf prints running figures and a final "iops average N (M MB/s)"; keep the last.
  $x timeout $((secs + 20)) iscsi-perf -i "$init" -m "$qd" -b "$blocks" -t "$secs" "$@" "$url" 2>&1 |
    tr '\r' '\n' | grep -E "MB/s|IOPS" | tail -1
}
dl_field() {  # the number before a unit ("468 MB/s", "1090.5 MiB/s") or after "iops average"
  { grep -oE "$1" || true; } | head -1 | grep -oE "[0-9.]+" | head -1 || true
}
dl_median() { sort -n | sed -n 2p; }
dl_ratio_row() {
  local name=$1 a b ratio
  a=$(printf "%s" "$2" | dl_median)
  b=$(printf "%s" "$3" | dl_median)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf "%-34s %12s %12s %8s\n" "$name" "$a" "$b" "$ratio"
}
