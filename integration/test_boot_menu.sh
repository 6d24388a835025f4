#!/usr/bin/env bash
# The menu boot method (templates/menu.ipxe): a PC with boot="menu" gets an iPXE menu of the
# inventory's images; nobody chooses, so after the timeout the default entry (local disk) runs:
# iPXE exits and the BIOS boots the PC's local disk (the BIOS test disk), which proves it by
# its sector checksums. The serial console must show the menu with the host's own iSCSI disk and
# the Linux image as items.
# Usage: test_boot_menu.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbtm
dl_net 1
mac=52:54:00:b8:00:01
"$here/images/bios_disk.sh" "$DL_TMP/local.img"
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
mkdir -p "$DL_TMP/k"
printf 'not a kernel\n' > "$DL_TMP/k/vmlinuz"
dl_inventory "$DL_TMP/diskless.xml" full ignore \
  '<image name="bios-test" disk="bios.img"/>
   <image name="live" kernel="k/vmlinuz" cmdline="quiet"/>' \
  "<host mac=\"$mac\" name=\"pc8\" image=\"bios-test\" boot=\"menu\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
# The menu waits 30 s for a key before its default; generous timeout under TCG.
dl_qemu menu bios-local tap0 "$mac" 180 -drive "file=$DL_TMP/local.img,format=raw,if=ide"
# iPXE draws the menu with escape sequences: compare on the text alone.
tr -d '\033' < "$DL_TMP/menu.serial" | sed 's/\[[0-9;]*[A-Za-z]//g' > "$DL_TMP/menu.text"
for want in "diskless on $DL_SERVER: pc8 ($mac)" \
  "bios-test (iSCSI disk iqn.2026-11.lan.diskless:pc8)" "live (Linux)" "Boot from the local disk"; do
  grep -qF -- "$want" "$DL_TMP/menu.text" || {
    tail -n 30 "$DL_TMP/menu.text" >&2
    dl_fail "menu: the console lacks '$want'"
  }
done
dl_expect_serial menu "Booting from Hard Disk"
dl_expect_bios_disk menu "$DL_TMP/local.img"
grep -q "Registered SAN device" "$DL_TMP/menu.serial" && dl_fail "menu: a SAN disk was used"
echo "PASS menu boot method (menu of the host's disk + Linux image, default local after the timeout): ${DL_QEMU_SECONDS}s"
