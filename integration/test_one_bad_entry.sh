#!/usr/bin/env bash
# One bad entry never stops the lab: an inventory with a host on a missing image file and a host
# naming an undefined image. `check` reports both (exit 1), `check --strict` refuses warnings,
# the read-only commands work, an unrelated `host add` is accepted while an edit introducing a
# new error is refused; `serve` starts, the good host gets its boot file from a real DHCP client
# (busybox udhcpc as a PXE ROM), the disabled hosts get the unknown treatment (unknown="ignore" in
# full mode: an address, no boot file) and their PCs are explained in the log.
# Usage: test_one_bad_entry.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
source "$(dirname "$0")/lib/common.sh"
source "$DL_LIB/diskless.sh"
source "$DL_LIB/lan_client.sh"
dl_init dlbad
dl_net 0
dl_lan_client

GOOD=52:54:00:7b:00:01 GONE=52:54:00:7b:00:02 BROKEN=52:54:00:7b:00:03
PXE="PXEClient:Arch:00000:UNDI:002001"
mkdir -p "$DL_TMP/images" "$DL_TMP/tftp" "$DL_TMP/state"
echo kernel >"$DL_TMP/images/vmlinuz"
echo initrd >"$DL_TMP/images/initrd"
echo loader >"$DL_TMP/tftp/undionly.kpxe"
dl_inventory "$DL_TMP/inv.xml" full ignore \
  '    <image name="live" kernel="images/vmlinuz" initrd="images/initrd"/>
    <image name="gone" disk="images/gone.img"/>' \
  "    <host mac=\"$GOOD\" name=\"good\" image=\"live\" boot=\"linux\"/>
    <host mac=\"$GONE\" name=\"pc-gone\" image=\"gone\" boot=\"sanboot\"/>
    <host mac=\"$BROKEN\" name=\"broken\" image=\"nosuch\" boot=\"linux\"/>"
D() { env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" --log-level off "$@"; }

# check: every problem, exit 1.
rc=0
D check >"$DL_TMP/check.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || dl_fail "check exited $rc on an inventory with errors: $(cat "$DL_TMP/check.log")"
grep -q "gone.img does not exist" "$DL_TMP/check.log" || dl_fail "check missed the missing file"
grep -q "'nosuch', which is not defined" "$DL_TMP/check.log" || dl_fail "check missed the host"

# Read-only commands work and show the disabled hosts.
D host list >"$DL_TMP/hosts.out" 2>"$DL_TMP/hosts.err" || dl_fail "host list failed"
grep -q "^$GOOD .*good" "$DL_TMP/hosts.out" || dl_fail "host list lacks the good host"
grep -q "pc-gone.*(disabled)" "$DL_TMP/hosts.out" || dl_fail "host list does not mark pc-gone"
D image list >/dev/null 2>&1 || dl_fail "image list failed"
D overlay list >/dev/null 2>&1 || dl_fail "overlay list failed"

# Edits: refused only for problems they introduce.
D host add 52:54:00:7b:00:04 --name unrelated --boot local >"$DL_TMP/add.log" 2>&1 ||
  dl_fail "host add of an unrelated host refused: $(cat "$DL_TMP/add.log")"
grep -q 'name="unrelated"' "$DL_TMP/inv.xml" || dl_fail "host add did not write the host"
if D host add 52:54:00:7b:00:05 --name worse --image nosuch2 --boot linux \
  >"$DL_TMP/add2.log" 2>&1; then
  dl_fail "an edit introducing a new error was accepted"
fi
grep -q 'name="worse"' "$DL_TMP/inv.xml" && dl_fail "the refused edit changed the file"

# --strict: an inventory with warnings only (an unused image whose file is missing).
sed -e '/name="broken"/d' -e '/name="pc-gone"/d' "$DL_TMP/inv.xml" >"$DL_TMP/warn.xml"
D check "$DL_TMP/warn.xml" >"$DL_TMP/warn.log" 2>&1 || dl_fail "check refused warnings only: $(cat "$DL_TMP/warn.log")"
rc=0
D check --strict "$DL_TMP/warn.xml" >"$DL_TMP/strict.log" 2>&1 || rc=$?
[ $rc -eq 1 ] || dl_fail "check --strict exited $rc with warnings: $(cat "$DL_TMP/strict.log")"

# serve starts in spite of the two bad hosts.
dl_spawn diskless env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" --log-level info serve
dl_wait_port udp 67
dl_wait_port tcp 3260
kill -0 "$DL_LAST_PID" || dl_fail "serve exited"
grep -q "host 'pc-gone' is disabled" "$DL_TMP/diskless.log" || dl_fail "no warning for pc-gone"

out=$(dl_udhcpc "$GOOD" "$PXE") || dl_fail "the good host got no lease: $(cat "$DL_TMP/udhcpc.log")"
dl_log "good host: $out"
[ "${out#* }" = undionly.kpxe ] || dl_fail "the good host was offered '${out#* }', not undionly.kpxe"
out=$(dl_udhcpc "$GONE" "$PXE") || dl_fail "pc-gone got no lease (full mode leases to anyone)"
dl_log "disabled host: $out"
[ "${out#* }" = - ] || dl_fail "the disabled host was offered a boot file: $out"
grep -q "DISCOVER from $GONE: .*host 'pc-gone' is disabled" "$DL_TMP/diskless.log" ||
  dl_fail "the log does not say why pc-gone gets no boot"
echo "PASS: one bad entry disables itself only"
