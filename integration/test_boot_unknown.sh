#!/usr/bin/env bash
# Boot path 7: a MAC that is not in the inventory. The PC has a local disk (the BIOS test disk)
# after the network in its boot order.
#   unknown="ignore": in full mode the PC gets an address but no boot file (full mode leases to
#                     every client; unknown only decides what PXE clients boot); iPXE gives up
#                     and the BIOS boots the local disk (no boot file was ever seen or offered).
#   unknown="local":  diskless answers and serves templates/local.ipxe, whose `exit` hands back
#                     to the BIOS, which boots the local disk.
# Usage: test_boot_unknown.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt7
dl_net 1
stranger=52:54:00:b7:00:99
"$here/images/bios_disk.sh" "$DL_TMP/local.img"
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
known='<host mac="52:54:00:b7:00:01" name="pc7" image="bios-test" boot="sanboot"/>'

# ignore
dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="bios-test" disk="bios.img"/>' "$known"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu ignore bios-local tap0 "$stranger" 120 -drive "file=$DL_TMP/local.img,format=raw,if=ide"
dl_expect_bios_disk ignore "$DL_TMP/local.img"
grep -q "Filename:" "$DL_TMP/ignore.serial" && dl_fail "unknown=ignore: the PC got a boot file"
grep -q "> \(OFFER\|ACK\) .* file " "$DL_TMP/diskless.log" && dl_fail "unknown=ignore: diskless offered a boot file"
grep -q "Booting from Hard Disk" "$DL_TMP/ignore.serial" || dl_fail "unknown=ignore: no local boot"
ignore_s=$DL_QEMU_SECONDS
dl_kill "$DL_DISKLESS_PID"
mv "$DL_TMP/diskless.log" "$DL_TMP/diskless-ignore.log"

# local
dl_inventory "$DL_TMP/diskless.xml" full local '<image name="bios-test" disk="bios.img"/>' "$known"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu local bios-local tap0 "$stranger" 120 -drive "file=$DL_TMP/local.img,format=raw,if=ide"
dl_expect_serial local "boot/52-54-00-b7-00-99.ipxe"
dl_expect_serial local "diskless: unknown-52-54-00-b7-00-99 boots from its local disk"
dl_expect_serial local "Booting from Hard Disk"
dl_expect_bios_disk local "$DL_TMP/local.img"
grep -q "Registered SAN device" "$DL_TMP/local.serial" && dl_fail "unknown=local: a SAN disk was used"
echo "PASS boot path 7 (unknown MAC: ignore → no answer, ${ignore_s}s; local → exit to local disk, ${DL_QEMU_SECONDS}s)"
