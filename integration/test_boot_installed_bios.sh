#!/usr/bin/env bash
# An installed operating system booted from diskless, BIOS: SeaBIOS + the e1000's iPXE ROM → DHCP
# → sanboot of the host's disk (a Debian 12 installed on a GPT disk, images/installed_os.sh) →
# GRUB from the disk's MBR and BIOS boot partition reads the kernel and initrd through INT 13h
# (iPXE's SAN drive) → the initramfs logs in again with the kernel's initiator from the iBFT
# (open-iscsi firmware mode: nothing about the host is in the image), here with one-way CHAP
# whose user and secret come from the iBFT → systemd reaches multi-user → the marker unit prints
# the iBFT's facts and the root disk's identity and writes /var/lib/marker.
# Asserted: the iBFT names this host's NIC (MAC), its address (the inventory's ip=), gateway,
# initiator, target (name, address, port, LUN 0) and CHAP user; /dev/disk/by-id holds the unit's
# VPD 83h NAA (wwn-0x...) and sg_vpd reads its VPD 80h serial; the marker file holds one line.
# Usage: test_boot_installed_bios.sh PATH/TO/diskless   (root; builds the image once, cached)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
source "$here/lib/installed_os.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlosb
dl_os_image
dl_net 1
mac=52:54:00:05:0b:01 ip=10.77.0.61
ln -s "$DL_OS_DISK" "$DL_TMP/os.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="debian" disk="os.img"/>' \
  "<host mac=\"$mac\" name=\"pc-bios\" image=\"debian\" boot=\"sanboot\" overlay=\"volatile\"
     ip=\"$ip\" chap-user=\"bios-user\" chap-secret=\"bios-secret-1234\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_os_boot pc-bios bios tap0 "$mac"
dl_expect_serial pc-bios DISKLESS-GRUB-BOOT
dl_expect_serial pc-bios DISKLESS-ROOT
dl_os_check_ibft pc-bios pc-bios "$mac" "$ip" bios-user
dl_os_expect pc-bios boots 1
naa=$(dl_os_field pc-bios naa)
[[ $naa =~ ^0x[0-9a-f]{16,32}$ ]] || dl_fail "pc-bios: sg_vpd found no NAA designator ('$naa')"
[[ ,$(dl_os_field pc-bios by-id) == *",wwn-$naa,"* ]] ||
  dl_fail "pc-bios: /dev/disk/by-id lacks wwn-$naa ($(dl_os_field pc-bios by-id))"
[[ $(dl_os_field pc-bios serial) =~ ^[[:alnum:]]{8,}$ ]] ||
  dl_fail "pc-bios: VPD 80h serial '$(dl_os_field pc-bios serial)'"
echo "PASS installed Debian, BIOS sanboot → GRUB → iBFT login (one-way CHAP) → multi-user: ${DL_QEMU_SECONDS}s ($(dl_os_phases pc-bios))"
