#!/usr/bin/env bash
# Boot path 2 (BIOS, PXE → undionly.kpxe chain: the path real lab PCs take).
# QEMU has no non-iPXE BIOS PXE ROM, so the chain is proved in its two halves:
#  1. what a plain PXE ROM is told: a scripted BIOS PXE DISCOVER (lib/pxe_probe.py, scapy: option
#     60 PXEClient, option 93 = 0, no iPXE user class) must be offered undionly.kpxe by diskless;
#  2. the chain itself: the NIC's ROM is stopped at its prompt (keys typed on the serial console),
#     fetches undionly.kpxe from diskless's TFTP and runs it over the ROM's PXE/UNDI API, exactly
#     as after a vendor ROM; undionly.kpxe (iPXE) then asks DHCP, gets boot/<mac>.ipxe and
#     sanboots the test disk, whose boot sector checks two sectors.
# Usage: test_boot_bios_chain.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt2
dl_net 1
mac=52:54:00:b2:00:01
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore \
  '<image name="bios-test" disk="bios.img"/>' \
  "<host mac=\"$mac\" name=\"pc2\" image=\"bios-test\" boot=\"sanboot\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"

# 1. A plain BIOS PXE ROM's DISCOVER, from a veth end inside the namespace.
x="ip netns exec $DL_NS"
$x ip link add pxc type veth peer name pxb
$x ip link set pxb master br0 up
$x ip link set pxc up
probe=$($x /usr/bin/python3 "$here/lib/pxe_probe.py" pxc "$mac" undionly.kpxe) ||
  dl_fail "BIOS PXE DISCOVER was not offered undionly.kpxe: $probe"
case $probe in *"siaddr=$DL_SERVER option43=True"*) ;; *) dl_fail "PXE offer incomplete: $probe" ;; esac
$x ip link del pxc

# 2. ROM → undionly.kpxe (UNDI) → script → sanboot.
DL_SERIAL_KEYS=('Ctrl-B for the iPXE command line=\x02'
  "iPXE>=dhcp && chain tftp://$DL_SERVER/undionly.kpxe\\r")
dl_qemu pc2 bios tap0 "$mac" 120
dl_expect_serial pc2 "undionly.kpxe"
dl_expect_serial pc2 "using undionly on"
dl_expect_serial pc2 "boot/52-54-00-b2-00-01.ipxe"
dl_expect_bios_disk pc2 "$DL_TMP/bios.img"
grep -q "sent 'undionly.kpxe'" "$DL_TMP/diskless.log" || dl_fail "undionly.kpxe did not come from diskless"
echo "PASS boot path 2 (BIOS PXE → undionly.kpxe → sanboot): ${DL_QEMU_SECONDS}s"
