#!/usr/bin/env bash
# Full DHCP serves the whole range, whatever <hosts unknown=...> says about booting:
#   unknown="ignore": a non-PXE unknown client (busybox udhcpc) gets a lease;
#   a flood of 300 unknown MACs (dhcp_flood.py) exhausting the 100-address pool still leaves an
#   address for a listed host without a static ip, while a new unknown client gets none;
#   <dhcp known-only="true">: the unknown client gets no lease, the listed host does.
# Usage: test_dhcp_unknown_clients.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
source "$(dirname "$0")/lib/common.sh"
source "$DL_LIB/diskless.sh"
source "$DL_LIB/lan_client.sh"
dl_init dlunk
dl_net 0
dl_lan_client

LISTED=52:54:00:7c:00:01 LAPTOP=52:54:00:7c:00:02 LATE=52:54:00:7c:00:03
mkdir -p "$DL_TMP/tftp" "$DL_TMP/state"
write_inventory() {  # $1: extra <dhcp> attributes
  dl_inventory "$DL_TMP/inv.xml" full ignore "" \
    "    <host mac=\"$LISTED\" name=\"listed\" boot=\"local\"/>"
  sed -i "s|<dhcp mode=\"full\"|<dhcp mode=\"full\" $1|" "$DL_TMP/inv.xml"
}
start() {
  rm -f "$DL_TMP/state/dhcp-leases"*
  dl_spawn diskless env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" --log-level info serve
  SERVE_PID=$DL_LAST_PID
  dl_wait_port udp 67
}

write_inventory ""
start
out=$(dl_udhcpc "$LAPTOP") || dl_fail "an unknown non-PXE client got no lease with unknown=ignore"
dl_log "laptop: $out"

# The flood: 300 unknown MACs, 2 DISCOVERs each, from a plain UDP socket in the client namespace.
ip -n "$DL_CNS" addr add 10.77.0.250/24 dev eth0
flood=$(ip netns exec "$DL_CNS" python3 "$DL_LIB/dhcp_flood.py" eth0 02:00:00:00:10:00 300 2)
ip -n "$DL_CNS" addr del 10.77.0.250/24 dev eth0
dl_log "flood: $flood"
offers=${flood##* }
[ "$offers" -ge 90 ] || dl_fail "the flood got only $offers offers: the pool was not exhausted"
if out=$(dl_udhcpc "$LATE"); then dl_fail "the pool is not exhausted: a new unknown MAC got $out"; fi
out=$(dl_udhcpc "$LISTED") || dl_fail "the flood starved the listed host"
dl_log "listed host during the flood: $out"
dl_kill "$SERVE_PID"

write_inventory 'known-only="true"'
start
if out=$(dl_udhcpc "$LAPTOP"); then dl_fail "known-only leased $out to an unknown MAC"; fi
out=$(dl_udhcpc "$LISTED") || dl_fail "known-only: the listed host got no lease"
grep -q "known-only" "$DL_TMP/diskless.log" || dl_fail "the refusal is not logged"
echo "PASS: unknown clients get leases unless known-only; a flood does not starve listed hosts"
