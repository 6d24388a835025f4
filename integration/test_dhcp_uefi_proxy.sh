#!/usr/bin/env bash
# proxyDHCP with real UEFI firmware: OVMF's native PXE client (virtio NIC, no option ROM) next to
# dnsmasq as the LAN's plain DHCP server. Our port-67 offer carries no option 43, so the firmware
# asks port 4011 (PXE spec §2.2.2) and gets ipxe.efi in an ACK; iPXE then takes dnsmasq's address
# and our per-host script, and sanboots the host's disk.
# Usage: test_dhcp_uefi_proxy.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/peers.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dldhcpu
dl_net 1
mac=52:54:00:d4:00:01
"$here/images/uefi_disk.sh" "$DL_TMP/uefi.img"
dl_dnsmasq plain
dl_inventory "$DL_TMP/diskless.xml" proxy ignore \
  '<image name="uefi-test" disk="uefi.img"/>' \
  "<host mac=\"$mac\" name=\"pc4\" image=\"uefi-test\" boot=\"sanboot\"/>"
# efi-loader="ipxe.efi" here (iPXE's own virtio driver); test_boot_uefi.sh covers the default
# snponly.efi.
sed -i 's|<dhcp mode=|<dhcp efi-loader="ipxe.efi" mode=|' "$DL_TMP/diskless.xml"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc4 uefi tap0 "$mac" 240
grep -q "DHCPACK(br0) 10.77.0.1[0-9][0-9] $mac" "$DL_TMP/dnsmasq.log" ||
  dl_fail "the address did not come from dnsmasq"
grep -q "DISCOVER $mac -> OFFER 0.0.0.0 file ipxe.efi" "$DL_TMP/diskless.log" || {
  dl_show_diskless_log
  dl_fail "no proxy offer of ipxe.efi to the UEFI firmware"
}
# In proxy mode the only ACKs we send are port-4011 answers.
grep -q "REQUEST $mac -> ACK 0.0.0.0 file ipxe.efi" "$DL_TMP/diskless.log" || {
  dl_show_diskless_log
  dl_fail "the UEFI firmware did not get ipxe.efi from port 4011"
}
grep -q "DISCOVER $mac -> OFFER 0.0.0.0 file http://$DL_SERVER:8080/boot/52-54-00-d4-00-01.ipxe" "$DL_TMP/diskless.log" ||
  dl_fail "iPXE was not offered its script"
dl_expect_serial pc4 "diskless: pc4 boots uefi-test from iSCSI target iqn.2026-11.lan.diskless:pc4"
dl_expect_uefi_disk pc4 "$DL_TMP/uefi.img"
echo "PASS UEFI native PXE through proxyDHCP (ports 67 + 4011) beside dnsmasq: ${DL_QEMU_SECONDS}s"
