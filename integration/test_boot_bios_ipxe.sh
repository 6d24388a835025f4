#!/usr/bin/env bash
# Boot path 1 (BIOS, iPXE ROM): SeaBIOS + the e1000's iPXE option ROM → DHCP from diskless (full
# mode) → boot/<mac>.ipxe over TFTP (rendered from templates/sanboot.ipxe) → sanboot of the host's
# own iSCSI target → the 64 MiB test disk's boot sector reads two far-apart sectors through INT 13h
# extended reads and prints their checksums, which must match the image; then isa-debug-exit.
# The admin API shows the boot's steps in order (DHCP, script, iSCSI login, first READ).
# Usage: test_boot_bios_ipxe.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt1
dl_net 1
mac=52:54:00:b1:00:01
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore \
  '<image name="bios-test" disk="bios.img"/>' \
  "<host mac=\"$mac\" name=\"pc1\" image=\"bios-test\" boot=\"sanboot\"/>"
# The admin API (src/api/README.md) follows the boot: checked once the disk was read.
sed -i 's|<state dir="state"/>|<api port="18083"/>\n    <state dir="state"/>|' "$DL_TMP/diskless.xml"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc1 bios tap0 "$mac" 120
dl_expect_serial pc1 "boot/52-54-00-b1-00-01.ipxe"
dl_expect_serial pc1 "diskless: pc1 boots bios-test from iSCSI target iqn.2026-11.lan.diskless:pc1"
dl_expect_bios_disk pc1 "$DL_TMP/bios.img"
api_host=$(ip netns exec "$DL_NS" curl -sf -H "Authorization: Bearer $(cat "$DL_TMP/state/api.token")" \
  http://127.0.0.1:18083/api/v1/hosts/pc1) || dl_fail "the API did not answer for pc1"
python3 - "$api_host" <<'PY' || dl_fail "pc1's boot in the API: $api_host"
import json, sys
b = json.loads(sys.argv[1])["boot_state"]
names = [s["name"] for s in b["steps"]]
want = ["discover", "offer", "request", "ack", "script", "iscsi-login", "first-read"]
idx = [names.index(n) for n in want]  # each there, first seen in this order
assert idx == sorted(idx), names
assert b["ipxe"] and b["phase"] == "iscsi" and b["bytes_read"] > 0, b
PY
echo "PASS boot path 1 (BIOS iPXE ROM → sanboot): ${DL_QEMU_SECONDS}s"
