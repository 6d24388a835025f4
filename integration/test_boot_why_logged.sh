#!/usr/bin/env bash
# Why a PC does not boot is in the log at the default level (info), once per source and period,
# with the reason and a hint:
#   a missing iPXE loader: a warning at start (the TFTP root has no undionly.kpxe/snponly.efi);
#   an unknown PXE ROM repeating its DISCOVER 20 times: one line for its MAC;
#   10 refused iSCSI logins (a target that does not exist): one line for that initiator.
# Usage: test_boot_why_logged.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
source "$(dirname "$0")/lib/common.sh"
source "$DL_LIB/diskless.sh"
source "$DL_LIB/lan_client.sh"
dl_init dlwhy
dl_net 0
dl_lan_client

UNKNOWN=52:54:00:7d:00:09
mkdir -p "$DL_TMP/tftp" "$DL_TMP/state"  # an empty TFTP root: no iPXE loaders
dl_inventory "$DL_TMP/inv.xml" full ignore "" \
  '    <host mac="52:54:00:7d:00:01" name="listed" boot="local"/>'
dl_spawn diskless env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" serve  # default level: info
dl_wait_port udp 67
dl_wait_port tcp 3260
LOG="$DL_TMP/diskless.log"

n=$(grep -c "iPXE loader undionly.kpxe is missing .*hint:" "$LOG" || true)
[ "$n" -eq 1 ] || dl_fail "expected one startup warning for undionly.kpxe, got $n"
grep -q "iPXE loader snponly.efi is missing" "$LOG" || dl_fail "no warning for snponly.efi"

ip -n "$DL_CNS" link set eth0 up
ip -n "$DL_CNS" addr add 10.77.0.250/24 dev eth0
ip netns exec "$DL_CNS" python3 "$DL_LIB/dhcp_flood.py" eth0 "$UNKNOWN" 1 20 pxe
for _ in $(seq 1 10); do
  ip netns exec "$DL_CNS" python3 "$DL_LIB/iscsi_login_probe.py" 10.77.0.1 3260 \
    iqn.2026-11.lan.test:intruder iqn.2026-11.lan.diskless:nosuch >>"$DL_TMP/login.out"
done
ip -n "$DL_CNS" addr del 10.77.0.250/24 dev eth0
[ "$(grep -c "status 0203" "$DL_TMP/login.out")" -eq 10 ] ||
  dl_fail "the logins were not all refused with 0203: $(sort "$DL_TMP/login.out" | uniq -c)"

n=$(grep -c "info .*DISCOVER from $UNKNOWN: .*unknown MAC.*hint: add it" "$LOG" || true)
[ "$n" -eq 1 ] || dl_fail "expected one info line for 20 DISCOVERs of $UNKNOWN, got $n"
n=$(grep -c "info .*login from 'iqn.2026-11.lan.test:intruder' refused: status 0203; hint: no such target" "$LOG" || true)
[ "$n" -eq 1 ] || dl_fail "expected one info line for 10 refused logins, got $n"
echo "PASS: unknown MACs, refused logins and missing loaders are explained once per period"
