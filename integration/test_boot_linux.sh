#!/usr/bin/env bash
# Boot path 4 (linux): BIOS iPXE ROM → DHCP → boot/<mac>.ipxe rendered from templates/linux.ipxe
# → the image's kernel and initrd over TFTP as diskless's virtual files images/<image>/vmlinuz
# and images/<image>/initrd → a Debian kernel (apt-get download, unpacked) runs a busybox-static
# initramfs that prints a marker with its command line and powers off. The command line must
# carry the image's cmdline (with a token made here). HTTP is off here (DL_HTTP=off), so this
# is the TFTP path; test_boot_iscsi_root.sh takes the default one (HTTP).
# Usage: test_boot_linux.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt4
dl_net 1
mac=52:54:00:b4:00:01
token=linux-$RANDOM$RANDOM
"$here/images/kernel.sh" "$DL_TMP/kernel"
"$here/images/initramfs.sh" marker "$DL_TMP/kernel" "$DL_TMP/initrd.gz"
DL_HTTP=off dl_inventory "$DL_TMP/diskless.xml" full ignore \
  "<image name=\"deb\" kernel=\"kernel/vmlinuz\" initrd=\"initrd.gz\" cmdline=\"console=ttyS0 quiet panic=-1 diskless_token=$token\"/>" \
  "<host mac=\"$mac\" name=\"pc4\" image=\"deb\" boot=\"linux\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc4 bios tap0 "$mac" 240
dl_expect_serial pc4 "tftp://$DL_SERVER/images/deb/vmlinuz"
dl_expect_serial pc4 "tftp://$DL_SERVER/images/deb/initrd"
dl_expect_serial pc4 "DISKLESS-LINUX-OK"
dl_expect_serial pc4 "diskless_token=$token"
[ "$DL_QEMU_RC" = 0 ] || dl_fail "pc4: QEMU ended with $DL_QEMU_RC (expected a clean power-off)"
echo "PASS boot path 4 (linux: kernel + initrd over TFTP): ${DL_QEMU_SECONDS}s"
