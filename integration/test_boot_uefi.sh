#!/usr/bin/env bash
# Boot path 3 (UEFI, native PXE): OVMF with a virtio NIC and no option ROM, so the firmware's
# own PXE client asks → diskless DHCP answers option 93 = 7 with snponly.efi (from /usr/lib/ipxe)
# → iPXE asks again → boot/<mac>.ipxe → sanboot of the host's target → the disk's EFI system
# partition holds a standalone GRUB that hashes two sectors outside the ESP (sha256, compared
# with the image here) and ends QEMU through isa-debug-exit. Then the same with efi-loader =
# ipxe.efi (iPXE's own NIC drivers instead of the firmware's SNP), set by a live reload.
# Usage: test_boot_uefi.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt3
dl_net 1
mac=52:54:00:b3:00:01
"$here/images/uefi_disk.sh" "$DL_TMP/uefi.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore \
  '<image name="uefi-test" disk="uefi.img"/>' \
  "<host mac=\"$mac\" name=\"pc3\" image=\"uefi-test\" boot=\"sanboot\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc3 uefi tap0 "$mac" 180
grep -q "OFFER 10.77.0.[0-9]* file snponly.efi" "$DL_TMP/diskless.log" ||
  dl_fail "diskless never offered snponly.efi (the default efi-loader) to the UEFI PXE client"
dl_expect_serial pc3 "diskless: pc3 boots uefi-test from iSCSI target iqn.2026-11.lan.diskless:pc3"
dl_expect_uefi_disk pc3 "$DL_TMP/uefi.img"
first=$DL_QEMU_SECONDS

# The issue's loader, ipxe.efi: switched in the running server by editing the inventory.
sed -i 's|<dhcp mode="full"|<dhcp mode="full" efi-loader="ipxe.efi"|' "$DL_TMP/diskless.xml"
before=$(grep -c "inventory in force" "$DL_TMP/diskless.log" || true)
for _ in $(seq 100); do
  [ "$(grep -c "inventory in force" "$DL_TMP/diskless.log" || true)" -gt "$before" ] && break
  sleep 0.1
done
[ "$(grep -c "inventory in force" "$DL_TMP/diskless.log" || true)" -gt "$before" ] ||
  dl_fail "the edited inventory (efi-loader=ipxe.efi) was not reloaded"
dl_qemu pc3b uefi tap0 "$mac" 180
grep -q "OFFER 10.77.0.[0-9]* file ipxe.efi" "$DL_TMP/diskless.log" ||
  dl_fail "diskless never offered ipxe.efi after efi-loader was set"
dl_expect_serial pc3b "diskless: pc3 boots uefi-test from iSCSI target iqn.2026-11.lan.diskless:pc3"
dl_expect_uefi_disk pc3b "$DL_TMP/uefi.img"
echo "PASS boot path 3 (UEFI native PXE → snponly.efi → sanboot): ${first}s;" \
  "with efi-loader=ipxe.efi: ${DL_QEMU_SECONDS}s"
