#!/usr/bin/env bash
# Boot path 6 (proxyDHCP): the LAN's DHCP server is dnsmasq handing out addresses only (no PXE
# options, no boot file); diskless runs in proxy mode and adds the boot information (PXE spec
# proxyDHCP on port 67 + 4011). The BIOS iPXE ROM takes its address from dnsmasq and its boot
# file from diskless, then sanboots the test disk as in path 1.
# Usage: test_boot_proxydhcp.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/peers.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt6
dl_net 1
mac=52:54:00:b6:00:01
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
dl_dnsmasq plain
dl_inventory "$DL_TMP/diskless.xml" proxy ignore \
  '<image name="bios-test" disk="bios.img"/>' \
  "<host mac=\"$mac\" name=\"pc6\" image=\"bios-test\" boot=\"sanboot\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc6 bios tap0 "$mac" 120
grep -q "DHCPACK(br0) 10.77.0.1[0-9][0-9] $mac" "$DL_TMP/dnsmasq.log" ||
  dl_fail "the address did not come from dnsmasq"
grep -q "sent size: *[0-9]* option: 67" "$DL_TMP/dnsmasq.log" &&
  dl_fail "dnsmasq sent a boot file; it must be the plain LAN server here"
dl_expect_serial pc6 "boot/52-54-00-b6-00-01.ipxe"
dl_expect_bios_disk pc6 "$DL_TMP/bios.img"
echo "PASS boot path 6 (proxyDHCP next to dnsmasq → sanboot): ${DL_QEMU_SECONDS}s"
