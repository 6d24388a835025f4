#!/usr/bin/env bash
# TFTP bench: diskless vs dnsmasq (TFTP only, port=0) vs tftpd-hpa, same namespaces, same files,
# same run. Each server is started in turn on 10.77.1.1:69 and measured with:
#   (a) curl --tftp-blksize 1468, lockstep, the 64 MiB file
#   (b) atftp --option "windowsize 16" / "windowsize 64", blksize 1468, the 64 MiB file
#       (servers without RFC 7440 answer without windowsize: the client then runs lockstep)
#   (c) 50 curl clients at once (blksize 1468), each fetching the CONC_MB file; total wall time
# Prints the median of 3 runs per figure (wall time and the server's CPU time) and ratios against
# dnsmasq lockstep.
# Usage: integration/bench/tftp.sh [path/to/diskless]   (root; not run by ctest)
# Environment: BIG_MB (default 64), CONC_MB (default 8), RUNS (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(realpath "${1:-build/diskless}")
. integration/lib/common.sh
big_mb=${BIG_MB:-64}
conc_mb=${CONC_MB:-8}
runs=${RUNS:-3}
dl_init dltftp-bench
dl_veth
tmp=$DL_TMP
sns=$DL_NS
cns=$DL_CNS
spid=
chmod 755 "$tmp"

root=$tmp/root
mkdir -p "$root" "$tmp/state"
chmod 755 "$root"
head -c $((big_mb << 20)) /dev/urandom > "$root/big.bin"
head -c $((conc_mb << 20)) /dev/urandom > "$root/conc.bin"
chmod 644 "$root"/*.bin
cat > "$tmp/diskless.xml" <<XML
<diskless version="1">
  <server address="10.77.1.1" interface="dls0">
    <dhcp mode="off"/>
    <tftp root="$root"/>
    <iscsi port="13260"/>
    <http enabled="false"/>
  </server>
  <images/>
  <hosts unknown="ignore"/>
</diskless>
XML

c() { ip netns exec "$cns" "$@"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

start_server() {
  case $1 in
    diskless)
      (cd "$tmp" && exec ip netns exec "$sns" "$bin" -c diskless.xml --state-dir state \
        --log-level warn serve > "$tmp/diskless.log" 2>&1) & ;;
    dnsmasq)
      ip netns exec "$sns" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
        --enable-tftp --tftp-root="$root" --tftp-max=200 --user=root --pid-file= \
        --log-facility="$tmp/dnsmasq.log" & ;;
    tftpd-hpa)
      ip netns exec "$sns" in.tftpd -L -s "$root" -a 10.77.1.1:69 -u root \
        > "$tmp/tftpd.log" 2>&1 & ;;
  esac
  spid=$!
  DL_PIDS+=("$spid")
  for _ in $(seq 100); do
    ip netns exec "$sns" ss -uln 2>/dev/null | grep -q ':69 ' && return 0
    sleep 0.1
  done
  echo "$1 did not start" >&2
  exit 1
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true; spid=; sleep 0.3; }

check() { # file, expected
  [ "$(stat -c %s "$1")" = "$(stat -c %s "$2")" ] || { echo "short transfer: $1" >&2; exit 1; }
}

run_a() {
  local t0 t1
  t0=$(now)
  c curl -sS --tftp-blksize 1468 -o "$tmp/a.out" tftp://10.77.1.1/big.bin
  t1=$(now)
  check "$tmp/a.out" "$root/big.bin"
  elapsed "$t0" "$t1"
}
run_b() {
  local t0 t1
  t0=$(now)
  c atftp --get -r big.bin -l "$tmp/b.out" --option "windowsize $1" --option "blksize 1468" \
    10.77.1.1 > /dev/null 2>&1
  t1=$(now)
  check "$tmp/b.out" "$root/big.bin"
  elapsed "$t0" "$t1"
}
run_c() {
  local t0 t1 i pids=()
  t0=$(now)
  for i in $(seq 1 50); do
    c curl -sS --tftp-blksize 1468 -o "$tmp/c$i.out" tftp://10.77.1.1/conc.bin & pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  t1=$(now)
  for i in $(seq 1 50); do check "$tmp/c$i.out" "$root/conc.bin"; done
  rm -f "$tmp"/c*.out
  elapsed "$t0" "$t1"
}
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

# Server CPU time (user + system, own and reaped children: tftpd-hpa forks per transfer), in
# clock ticks. On a loaded machine this is steadier than wall time.
cpu_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$spid/stat"; }
measure() { # test -> "wall_seconds cpu_ticks"
  local c0 w
  c0=$(cpu_ticks)
  case $1 in
    a) w=$(run_a) ;;
    b16) w=$(run_b 16) ;;
    b64) w=$(run_b 64) ;;
    c) w=$(run_c) ;;
  esac
  echo "$w $(($(cpu_ticks) - c0))"
}

# Servers alternate within each round so that load from other work on the machine hits all of
# them alike.
declare -A walls cpus
servers=(diskless dnsmasq tftpd-hpa)
tests=(a b16 b64 c)
for round in $(seq "$runs"); do
  for server in "${servers[@]}"; do
    start_server "$server"
    for test in "${tests[@]}"; do
      read -r w t < <(measure "$test")
      walls[$server,$test]+="$w "
      cpus[$server,$test]+="$t "
      echo "round $round $server $test: ${w} s, server cpu ${t} ticks" >&2
    done
    stop_server
  done
done
declare -A res cpu
for server in "${servers[@]}"; do
  for test in "${tests[@]}"; do
    # shellcheck disable=SC2086
    res[$server,$test]=$(median ${walls[$server,$test]})
    # shellcheck disable=SC2086
    cpu[$server,$test]=$(median ${cpus[$server,$test]})
  done
done

mibs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
echo
echo "TFTP bench: ${big_mb} MiB file, medians of $runs, veth between two namespaces," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %12s %12s %12s\n' "" diskless dnsmasq tftpd-hpa
for test in a b16 b64 c; do
  case $test in
    a) label="(a) curl blksize 1468 lockstep, s" ; mb=$big_mb ;;
    b16) label="(b) atftp windowsize 16, s" ; mb=$big_mb ;;
    b64) label="(b) atftp windowsize 64, s" ; mb=$big_mb ;;
    c) label="(c) 50 clients x ${conc_mb} MiB, total s" ; mb=$((conc_mb * 50)) ;;
  esac
  printf '%-44s %12s %12s %12s\n' "$label" "${res[diskless,$test]}" "${res[dnsmasq,$test]}" \
    "${res[tftpd-hpa,$test]}"
  printf '%-44s %12s %12s %12s\n' "    MiB/s" "$(mibs $mb "${res[diskless,$test]}")" \
    "$(mibs $mb "${res[dnsmasq,$test]}")" "$(mibs $mb "${res[tftpd-hpa,$test]}")"
  # tftpd-hpa serves each transfer in a forked child it does not account for: not comparable.
  printf '%-44s %12s %12s %12s\n' "    server CPU, ticks ($(getconf CLK_TCK)/s)" \
    "${cpu[diskless,$test]}" "${cpu[dnsmasq,$test]}" "n/a"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "ratios (speed, higher is better for diskless):"
echo "  lockstep (a): diskless vs dnsmasq   $(ratio "${res[dnsmasq,a]}" "${res[diskless,a]}")x  (aim >= 1.3)"
echo "  lockstep (a): diskless vs tftpd-hpa $(ratio "${res[tftpd-hpa,a]}" "${res[diskless,a]}")x"
echo "  windowsize 16 vs dnsmasq lockstep   $(ratio "${res[dnsmasq,a]}" "${res[diskless,b16]}")x  (aim >= 4)"
echo "  windowsize 64 vs dnsmasq lockstep   $(ratio "${res[dnsmasq,a]}" "${res[diskless,b64]}")x"
echo "  50 clients: diskless vs dnsmasq     $(ratio "${res[dnsmasq,c]}" "${res[diskless,c]}")x"
echo "  50 clients: diskless vs tftpd-hpa   $(ratio "${res[tftpd-hpa,c]}" "${res[diskless,c]}")x"
echo "server CPU (dnsmasq / diskless, higher means diskless uses less):"
for test in "${tests[@]}"; do
  if [ "${cpu[diskless,$test]}" -gt 0 ]; then
    echo "  $test: $(ratio "${cpu[dnsmasq,$test]}" "${cpu[diskless,$test]}")x"
  fi
done
