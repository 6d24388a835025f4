#!/usr/bin/env bash
# HTTP service with curl: a host's rendered script, a kernel byte for byte, single ranges,
# HEAD, 416 past the end, 404 for unknown MACs and traversal attempts, /status and /metrics.
# The server runs in a network namespace of its own, started by dl_spawn so the lib's cleanup
# ends it by PID; the client is pc1's PC (a second namespace wearing pc1's MAC: only it may have
# pc1's script).
set -euo pipefail
bin=$(realpath "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dl-http
fail() { echo "FAIL: $*" >&2; cat "$DL_TMP/serve.log" >&2 || true; exit 1; }
in_ns() { ip netns exec "$DL_CNS" "$@"; }
srv() { ip netns exec "$DL_NS" "$@"; }

cd "$DL_TMP"
mkdir -p config k
head -c 3000001 /dev/urandom > k/vmlinuz
head -c 1000 /dev/urandom > k/initrd.img
cat > config/diskless.xml <<'XML'
<diskless version="1">
  <server address="10.77.1.1">
    <dhcp mode="off"/>
    <tftp port="6969"/>
    <iscsi port="13260"/>
    <http port="8080"/>
    <state dir="state"/>
  </server>
  <images><image name="live" kernel="../k/vmlinuz" initrd="../k/initrd.img" cmdline="quiet"/></images>
  <hosts unknown="ignore"><host mac="52:54:00:00:00:01" name="pc1" image="live" boot="linux"/></hosts>
</diskless>
XML
dl_veth 52:54:00:00:00:01
dl_spawn serve "$bin" serve
dl_wait_port tcp 8080
base=http://10.77.1.1:8080

in_ns curl -sf $base/boot/52-54-00-00-00-01.ipxe > script.txt || fail "script not served"
head -1 script.txt | grep -q '^#!ipxe' || fail "script does not start with #!ipxe"
grep -q 'quiet' script.txt || fail "script lacks the image cmdline"
in_ns curl -sf $base/images/live/vmlinuz | cmp - k/vmlinuz || fail "kernel differs"
in_ns curl -sf $base/images/live/initrd | cmp - k/initrd.img || fail "initrd differs"
in_ns curl -sf -r 1000-1999 $base/images/live/vmlinuz | cmp - <(tail -c +1001 k/vmlinuz | head -c 1000) || fail "range differs"
in_ns curl -sf -r -10 $base/images/live/vmlinuz | cmp - <(tail -c 10 k/vmlinuz) || fail "suffix range differs"
code() { in_ns curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -r 1000-1999 $base/images/live/vmlinuz)" = 206 ] || fail "range not 206"
[ "$(code -r 4000000- $base/images/live/vmlinuz)" = 416 ] || fail "past the end not 416"
in_ns curl -sfI $base/images/live/vmlinuz | grep -qi '^content-length: 3000001' || fail "HEAD length"
[ "$(code $base/boot/52-54-00-00-00-99.ipxe)" = 404 ] || fail "unknown MAC (ignore) not 404"
[ "$(code --path-as-is $base/images/../../etc/passwd)" = 404 ] || fail "traversal not refused"
[ "$(code -X POST $base/status)" = 405 ] || fail "POST not refused"
srv curl -sf $base/status | grep -q '"name":"pc1"' || fail "status lacks pc1"
srv curl -sf $base/metrics | grep -q '^diskless_http_files_total [1-9]' || fail "metrics not counting"
echo PASS
