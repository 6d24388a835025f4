#!/usr/bin/env bash
# An installed operating system booted from diskless, UEFI: OVMF's native PXE (virtio-net, no
# option ROM) → the server's x64 EFI iPXE → DHCP → sanboot of the host's disk (the Debian 12 of
# images/installed_os.sh) → OVMF boots \EFI\BOOT\BOOTX64.EFI (GRUB) from the disk's EFI system
# partition, which reads the kernel and initrd through iPXE's SAN block device → the initramfs
# logs in with the kernel's initiator from the iBFT, here with mutual CHAP (both users and
# secrets from the iBFT) → systemd reaches multi-user → the marker unit.
# Asserted: the iBFT names this host's NIC, address, gateway, initiator, target (name, address,
# port, LUN 0), CHAP user and mutual (target) user; the disk's NAA shows in /dev/disk/by-id.
# Usage: test_boot_installed_uefi.sh PATH/TO/diskless   (root; builds the image once, cached)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
source "$here/lib/installed_os.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlosu
dl_os_image
dl_net 1
mac=52:54:00:05:0e:01 ip=10.77.0.62
ln -s "$DL_OS_DISK" "$DL_TMP/os.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="debian" disk="os.img"/>' \
  "<host mac=\"$mac\" name=\"pc-uefi\" image=\"debian\" boot=\"sanboot\" overlay=\"volatile\"
     ip=\"$ip\" chap-user=\"uefi-user\" chap-secret=\"uefi-secret-1234\"
     mutual-user=\"uefi-target\" mutual-secret=\"uefi-mutual-5678\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_os_boot pc-uefi uefi tap0 "$mac"
dl_expect_serial pc-uefi DISKLESS-GRUB-BOOT
dl_os_check_ibft pc-uefi pc-uefi "$mac" "$ip" uefi-user uefi-target
dl_os_expect pc-uefi boots 1
naa=$(dl_os_field pc-uefi naa)
[[ ,$(dl_os_field pc-uefi by-id) == *",wwn-$naa,"* ]] ||
  dl_fail "pc-uefi: /dev/disk/by-id lacks wwn-$naa ($(dl_os_field pc-uefi by-id))"
echo "PASS installed Debian, UEFI PXE → EFI iPXE → sanboot → GRUB (ESP) → iBFT login (mutual CHAP) → multi-user: ${DL_QEMU_SECONDS}s ($(dl_os_phases pc-uefi))"
