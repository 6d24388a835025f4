#!/usr/bin/env bash
# HTTP exposure and live port changes, with curl from a second namespace (a PC on the boot LAN):
# - the boot listener is bound to the server address, not 0.0.0.0;
# - /status and /metrics (every host and MAC) answer 403 to a PC and 200 to the server itself;
# - a live edit of <http port> moves the listener: the new port answers, the old one is closed,
#   and scripts name the new port.
set -euo pipefail
bin=$(realpath "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dl-hexp
fail() { echo "FAIL: $*" >&2; cat "$DL_TMP/serve.log" >&2 || true; exit 1; }
pc() { ip netns exec "$DL_CNS" "$@"; }
srv() { ip netns exec "$DL_NS" "$@"; }
code() { pc curl -s -o /dev/null -w '%{http_code}' "$@" || true; }

cd "$DL_TMP"
mkdir -p config
inventory() {
  cat > config/diskless.xml.new <<XML
<diskless version="1">
  <server address="10.77.1.1">
    <dhcp mode="off"/>
    <tftp port="6969"/>
    <iscsi port="13260"/>
    <http port="$1"/>
    <state dir="state"/>
  </server>
  <images><image name="live" kernel="../vmlinuz" initrd="../initrd.img" cmdline="quiet"/></images>
  <hosts unknown="ignore"><host mac="52:54:00:00:00:01" name="pc1" image="live" boot="linux"/></hosts>
</diskless>
XML
  mv config/diskless.xml.new config/diskless.xml  # atomic: the watcher never sees half a file
}
head -c 1000 /dev/urandom > vmlinuz
head -c 1000 /dev/urandom > initrd.img
inventory 8080
dl_veth 52:54:00:00:00:01  # the PC is pc1: it may fetch pc1's script
dl_spawn serve "$bin" serve
dl_wait_port tcp 8080

# Item 15: bound to the LAN address only.
listen=$(srv ss -Hlnt 'sport = :8080' | awk '{print $4}')
[ "$listen" = "10.77.1.1:8080" ] || fail "HTTP listens on '$listen', not 10.77.1.1:8080"
base=http://10.77.1.1:8080
[ "$(code $base/status)" = 403 ] || fail "/status from a PC is not 403"
[ "$(code $base/metrics)" = 403 ] || fail "/metrics from a PC is not 403"
pc curl -s $base/status | grep -q '52:54\|pc1' && fail "/status from a PC lists hosts"
srv curl -sf $base/status | grep -q '"name":"pc1"' || fail "/status from the server itself"
srv curl -sf $base/metrics | grep -q '^diskless_hosts 1' || fail "/metrics from the server itself"
pc curl -sf $base/boot/52-54-00-00-00-01.ipxe | grep -q '^#!ipxe' || fail "script not served"

# Item 17: a live port change moves the listener and the scripts follow.
inventory 8081
dl_wait_port tcp 8081
for i in $(seq 1 50); do
  srv ss -Hlnt 'sport = :8080' | grep -q . || break
  sleep 0.1
done
srv ss -Hlnt 'sport = :8080' | grep -q . && fail "old port 8080 still listens"
pc curl -sf http://10.77.1.1:8081/boot/52-54-00-00-00-01.ipxe > script.txt ||
  fail "script not served on the new port"
grep -q '10.77.1.1:8081/' script.txt || { cat script.txt; fail "script does not name port 8081"; }
grep -q ':8080/' script.txt && fail "script still names port 8080"
pc curl -sf http://10.77.1.1:8081/images/live/vmlinuz | cmp - vmlinuz || fail "kernel on the new port"
grep -q 'moved to 10.77.1.1:8081' serve.log || fail "no log line for the move"
echo PASS
