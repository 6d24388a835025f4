#!/usr/bin/env bash
# Boot path 5 (iscsi-root): BIOS iPXE ROM → DHCP → boot/<mac>.ipxe rendered from
# templates/iscsi-root.ipxe → kernel + initrd over HTTP (the default: HTTP is on) → the initramfs (busybox + open-iscsi's
# iscsistart + the kernel's iSCSI modules) reads iscsi_initiator=, iscsi_target_name=,
# iscsi_target_ip=, iscsi_target_port=, root= and rootfstype= from the kernel command line, logs
# into diskless's target for the host with the Linux kernel initiator, mounts the ext4 root
# partition, writes a file with a token, syncs and powers off. The test then reads that file
# out of the image (debugfs): the write went through diskless to the disk. The script's sanhook
# also leaves an iBFT, which the initramfs must find naming the same initiator and target.
# Usage: test_boot_iscsi_root.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlbt5
dl_net 1
mac=52:54:00:b5:00:01
token=iscsiroot-$RANDOM$RANDOM
"$here/images/kernel.sh" "$DL_TMP/kernel"
"$here/images/initramfs.sh" iscsi "$DL_TMP/kernel" "$DL_TMP/initrd.gz"
"$here/images/ext4_disk.sh" "$DL_TMP/root.img"
dl_inventory "$DL_TMP/diskless.xml" full ignore \
  "<image name=\"rootfs\" disk=\"root.img\" kernel=\"kernel/vmlinuz\" initrd=\"initrd.gz\" root-partition=\"1\" rootfstype=\"ext4\" cmdline=\"console=ttyS0 quiet panic=-1 diskless_token=$token\"/>" \
  "<host mac=\"$mac\" name=\"pc5\" image=\"rootfs\" boot=\"iscsi-root\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
dl_qemu pc5 bios tap0 "$mac" 240
dl_expect_serial pc5 "http://$DL_SERVER:8080/boot/52-54-00-b5-00-01.ipxe"
dl_expect_serial pc5 "http://$DL_SERVER:8080/images/rootfs/vmlinuz"
dl_expect_serial pc5 "http://$DL_SERVER:8080/images/rootfs/initrd"
# iPXE's sanhook left an iBFT naming the host's initiator and target (the iBFT path).
dl_expect_serial pc5 "DISKLESS-IBFT iqn.2026-11.lan.diskless:initiator:pc5 -> iqn.2026-11.lan.diskless:pc5"
dl_expect_serial pc5 "DISKLESS-ISCSI-LOGIN iqn.2026-11.lan.diskless:initiator:pc5 -> iqn.2026-11.lan.diskless:pc5 at $DL_SERVER:3260"
dl_expect_serial pc5 "DISKLESS-ISCSI-ROOT-OK"
[ "$DL_QEMU_RC" = 0 ] || dl_fail "pc5: QEMU ended with $DL_QEMU_RC (expected a clean power-off)"
dl_kill "$DL_DISKLESS_PID"  # flush and close the image before reading it
got=$("$here/images/ext4_disk.sh" "$DL_TMP/root.img" cat /diskless-iscsi-root.txt)
case $got in
  *"iqn.2026-11.lan.diskless:initiator:pc5: $token"*) ;;
  *) dl_fail "the root filesystem lacks the file the PC wrote (got: '$got')" ;;
esac
echo "PASS boot path 5 (iscsi-root: script, kernel and initrd over HTTP, iscsistart login, ext4 root written): ${DL_QEMU_SECONDS}s"
