#!/usr/bin/env bash
# Builds a Debian 12 system "installed" on a partitioned raw disk, as an admin's installer leaves
# it, to be served by diskless as a golden image and booted through sanboot:
#   GPT: 1 BIOS boot partition (GRUB's core.img, 1 MiB), 2 EFI system partition (FAT, 32 MiB,
#   \EFI\BOOT\BOOTX64.EFI: the removable path, no NVRAM entry needed), 3 root (ext4, label
#   dlosroot); GRUB's boot.img in the MBR. GRUB reads the kernel and initrd through INT 13h or
#   the EFI block I/O protocol (iPXE's SAN device) and boots root=UUID=... console=ttyS0.
# The initramfs (initramfs-tools + open-iscsi, MODULES=list: e1000, virtio-net, sd, ext4 and the
# iSCSI modules) logs in in open-iscsi's firmware mode (ISCSI_AUTO=true in
# /etc/iscsi/iscsi.initramfs: `iscsistart -b` takes initiator, target, address, port, LUN and
# CHAP from the iBFT iPXE's sanboot leaves). No target name is in the image: every host boots it.
# At every boot, once multi-user is reached, diskless-marker.service appends a line to
# /var/lib/marker and prints to ttyS0:
#   DISKLESS-OS-MARKER host=... boots=N initiator=... mac=... ip=... gateway=... target=...
#     target-ip=... port=... lun=... chap-user=... rev-chap-user=...   (the iBFT's values)
#   DISKLESS-OS-DISK serial=... naa=... by-id=...   (the root disk's VPD 0x80/0x83, /dev/disk/by-id)
#   DISKLESS-OS-MARKERFILE <the marker file's lines joined by |>
#   DISKLESS-OS-DONE
# then syncs and powers off at once (sysrq o: a clean shutdown under TCG costs half a minute and
# nothing here needs it; ext4's journal covers the rest). Phase markers for boot timing:
# DISKLESS-GRUB (GRUB's config runs), DISKLESS-GRUB-BOOT (kernel and initrd read),
# DISKLESS-INITRAMFS (init-top: the kernel runs the initramfs), DISKLESS-ROOT (local-bottom: root
# mounted over iSCSI).
# The Debian tree comes from images/debian_vm.sh (debootstrap from the machine's mirror, cached);
# the disk is cached under $DISKLESS_VM_CACHE (default /var/cache/diskless-tests)/installed-<hash>/
# where the hash covers this script and debian_vm.sh. No loop device, no mount: the tree is
# copied out of debian_vm.sh's ext4 image with debugfs, the file systems are made from
# directories (mkfs.ext4 -d, mtools) and GRUB's images are written by hand where grub-install
# (which needs a block device) would write them.
# Usage: installed_os.sh     prints the cache directory, which holds disk.img (raw; use it
# read-only, as a golden image or through a copy) and uuid (the root file system's).
# Needs root, debootstrap, e2fsprogs, fdisk (sfdisk), dosfstools, mtools, grub-common.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=(open-iscsi busybox grub-pc-bin grub-efi-amd64-bin sg3-utils)
key=$(cat "$here/installed_os.sh" "$here/debian_vm.sh" | sha256sum | cut -c1-16)
cache=${DISKLESS_VM_CACHE:-/var/cache/diskless-tests}/installed-$key
if [ -f "$cache/done" ]; then
  echo "$cache"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "installed_os.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
vm=$("$here/debian_vm.sh" "${pkgs[@]}")
exec 3>&1 1>&2  # stdout carries the cache directory only; the tools' chatter goes to stderr
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$cache/done" ]; then echo "$cache" >&3; exit 0; fi
echo "installed_os.sh: building the installed-system disk in $cache (once; cached)" >&2
work=$cache/work
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
tree=$work/tree
debugfs -R "rdump / $work" "$vm/root.img" >/dev/null 2>&1
mv "$work/lost+found" "$work/lost+found.x" 2>/dev/null || true
# rdump writes the root directory's entries into $work: gather them into $tree.
mkdir "$tree"
find "$work" -mindepth 1 -maxdepth 1 ! -name tree ! -name 'lost+found.x' -exec mv {} "$tree/" \;
rm -rf "$work/lost+found.x"
mkdir -p "$tree/dev" "$tree/proc" "$tree/sys" "$tree/run" "$tree/tmp"
chmod 1777 "$tree/tmp"

uuid=$(cat /proc/sys/kernel/random/uuid)
echo "$uuid" > "$cache/uuid"
echo dlos > "$tree/etc/hostname"
echo "UUID=$uuid / ext4 defaults,errors=remount-ro 0 1" > "$tree/etc/fstab"
# debian_vm.sh's test runner needs a second disk; this system has none.
rm -f "$tree/etc/systemd/system/vm-run.service" \
  "$tree/etc/systemd/system/default.target.wants/vm-run.service"

# The initramfs: open-iscsi's firmware mode, a small module list (MODULES=most takes minutes to
# build and seconds to unpack under TCG).
rm -f "$tree/etc/initramfs-tools/hooks/diskless-vm" "$tree/etc/initramfs-tools/conf.d/diskless-vm.conf"
echo MODULES=list > "$tree/etc/initramfs-tools/conf.d/diskless-os.conf"
printf '%s\n' e1000 virtio_pci virtio_net sd_mod ext4 crc32c_generic > "$tree/etc/initramfs-tools/modules"
echo 'ISCSI_AUTO=true' > "$tree/etc/iscsi/iscsi.initramfs"
# Phase markers on the console for the boot-time measurement (see the header).
for phase in init-top:DISKLESS-INITRAMFS local-bottom:DISKLESS-ROOT; do
  mkdir -p "$tree/etc/initramfs-tools/scripts/${phase%%:*}"
  f=$tree/etc/initramfs-tools/scripts/${phase%%:*}/diskless-phase
  printf '#!/bin/sh\n[ "$1" = prereqs ] && exit 0\necho %s > /dev/console\nexit 0\n' \
    "${phase#*:}" > "$f"
  chmod +x "$f"
done
kver=$(ls "$tree/lib/modules" | head -n1)
mount_chroot() {
  mount -t proc proc "$tree/proc"
  mount -t sysfs sys "$tree/sys"
  mount --bind /dev "$tree/dev"
}
umount_chroot() { umount "$tree/proc" "$tree/sys" "$tree/dev" 2>/dev/null || true; }
trap 'umount_chroot; rm -rf "$work"' EXIT
mount_chroot
chroot "$tree" update-initramfs -c -k "$kver" >"$work/initramfs.log" 2>&1 ||
  { cat "$work/initramfs.log" >&2; exit 1; }
umount_chroot

# The marker unit and its script.
cat > "$tree/usr/local/sbin/diskless-marker" <<'SH'
#!/bin/sh
# Runs once per boot (diskless-marker.service): marker file, iBFT and disk facts to ttyS0.
ib=/sys/firmware/ibft
v() { if [ -r "$1" ]; then tr -d '\n' < "$1"; fi; }
h=$(v $ib/ethernet0/hostname)
[ -z "$h" ] || hostname "$h"
n=1
[ ! -f /var/lib/marker ] || n=$(($(wc -l < /var/lib/marker) + 1))
echo "boot=$n host=$(hostname) mac=$(v $ib/ethernet0/mac) id=$(cat /proc/sys/kernel/random/boot_id)" >> /var/lib/marker
sync /var/lib/marker
sync
echo "DISKLESS-OS-MARKER host=$(hostname) boots=$n initiator=$(v $ib/initiator/initiator-name)" \
  "mac=$(v $ib/ethernet0/mac) ip=$(v $ib/ethernet0/ip-addr) gateway=$(v $ib/ethernet0/gateway)" \
  "target=$(v $ib/target0/target-name) target-ip=$(v $ib/target0/ip-addr)" \
  "port=$(v $ib/target0/port) lun=$(v $ib/target0/lun) chap-user=$(v $ib/target0/chap-name)" \
  "rev-chap-user=$(v $ib/target0/rev-chap-name)"
root=$(findmnt -no SOURCE /)
disk=$(basename "$(readlink -f "/sys/class/block/${root##*/}/..")")
ids=$(for l in /dev/disk/by-id/*; do
  [ "$(readlink -f "$l")" = "/dev/$disk" ] && printf '%s,' "${l##*/}"
done)
serial=$(sg_vpd -p sn "/dev/$disk" 2>/dev/null | sed -n 's/^ *Unit serial number: *//p')
naa=$(sg_vpd -p di "/dev/$disk" 2>/dev/null | sed -n 's/^ *\(0x[0-9a-f]\{16,32\}\)$/\1/p' | head -n1)
echo "DISKLESS-OS-DISK disk=$disk serial=$serial naa=$naa by-id=$ids"
echo "DISKLESS-OS-MARKERFILE $(tr '\n' '|' < /var/lib/marker)"
echo DISKLESS-OS-DONE
sync
echo o > /proc/sysrq-trigger
SH
chmod +x "$tree/usr/local/sbin/diskless-marker"
cat > "$tree/etc/systemd/system/diskless-marker.service" <<'UNIT'
[Unit]
Description=diskless test marker: iBFT facts and a per-boot line in /var/lib/marker
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/diskless-marker
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0

[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
ln -sf ../diskless-marker.service "$tree/etc/systemd/system/multi-user.target.wants/"
# Faster boots under TCG: nothing here needs these. open-iscsi.service logs in configured nodes
# (there are none: root's session comes from the initramfs) and logs out at shutdown.
# There is no D-Bus in this minimal system, so systemd-logind would only fail, and
# getty-static.service (gettys on tty2-6 instead) holds multi-user back for about a minute.
for u in open-iscsi.service e2scrub_reap.service systemd-journal-flush.service \
  systemd-logind.service getty-static.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer fstrim.timer dpkg-db-backup.timer; do
  ln -sf /dev/null "$tree/etc/systemd/system/$u"
done

# GRUB: the same config for BIOS and UEFI, in /boot/grub as grub-install would leave it.
cp "$tree/boot/vmlinuz-$kver" "$tree/boot/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$tree/boot/initrd.img"
mkdir -p "$tree/boot/grub"
cp -r "$tree/usr/lib/grub/i386-pc" "$tree/usr/lib/grub/x86_64-efi" "$tree/boot/grub/"
cat > "$tree/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=0
echo DISKLESS-GRUB
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $uuid
linux /boot/vmlinuz root=UUID=$uuid ro console=ttyS0 quiet systemd.show_status=false systemd.unit=multi-user.target panic=-1
initrd /boot/initrd.img
echo DISKLESS-GRUB-BOOT
boot
CFG
cat > "$work/early.cfg" <<CFG
search --no-floppy --fs-uuid --set=root $uuid
set prefix=(\$root)/boot/grub
CFG
mods="part_gpt ext2 search search_fs_uuid normal linux echo serial terminal configfile test boot"
grub-mkimage -O i386-pc -d "$tree/usr/lib/grub/i386-pc" -o "$work/core.img" -c "$work/early.cfg" \
  -p /boot/grub biosdisk $mods
grub-mkimage -O x86_64-efi -d "$tree/usr/lib/grub/x86_64-efi" -o "$work/BOOTX64.EFI" \
  -c "$work/early.cfg" -p /boot/grub fat efi_gop $mods
rm -rf "$tree/var/cache/apt/"*.bin
# As after the first boot of an installed system: /etc and /var are up to date with /usr, so
# ldconfig.service, systemd-hwdb-update.service and the like (ConditionNeedsUpdate=, which
# every volatile boot would otherwise meet again) do not run; hwdb.bin is built here instead.
chroot "$tree" systemd-hwdb update
touch "$tree/etc/.updated" "$tree/var/.updated"

# The disk: GPT, partitions at fixed sectors (p1 BIOS boot 1 MiB, p2 ESP 32 MiB, p3 root).
root_mb=$(($(du -sm "$tree" | cut -f1) + 256))
esp_start=4096 esp_sectors=65536 root_start=69632
root_sectors=$((root_mb * 2048))
img=$work/disk.img
truncate -s $(((root_start + root_sectors + 2048) * 512)) "$img"
cat <<GPT | sfdisk -q "$img"
label: gpt
start=2048, size=2048, type=21686148-6E6D-6449-6E6F-744E65656649, name="bios"
start=$esp_start, size=$esp_sectors, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"
start=$root_start, size=$root_sectors, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
GPT
mkfs.vfat -C "$work/esp.img" $((esp_sectors / 2)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
dd if="$work/esp.img" of="$img" bs=512 seek=$esp_start conv=notrunc status=none
mkfs.ext4 -q -F -L dlosroot -U "$uuid" -d "$tree" "$work/root.img" "${root_mb}M"
dd if="$work/root.img" of="$img" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
# What grub-install's setup does for a BIOS disk: core.img into the BIOS boot partition, its
# first sector's block list (the last 12 bytes: start LBA, sector count, load segment) naming
# the rest; boot.img's first 440 bytes into the MBR (the partition table stays) with the
# kernel-sector field (offset 0x5c) naming core.img's first sector, and the floppy check at
# 0x66 turned into NOPs (a hard disk).
core_sectors=$((($(stat -c %s "$work/core.img") + 511) / 512))
[ "$core_sectors" -le 2048 ] || { echo "installed_os.sh: core.img too big" >&2; exit 1; }
le() { # le VALUE BYTES: VALUE little-endian as BYTES bytes
  local v=$1 n=$2 i out=
  for ((i = 0; i < n; i++)); do out+=$(printf '\\x%02x' $(((v >> (8 * i)) & 255))); done
  printf "$out"
}
{ le 2049 8; le $((core_sectors - 1)) 2; le $((0x820)) 2; } |
  dd of="$work/core.img" bs=1 seek=500 conv=notrunc status=none
dd if="$work/core.img" of="$img" bs=512 seek=2048 conv=notrunc status=none
cp "$tree/usr/lib/grub/i386-pc/boot.img" "$work/boot.img"
le 2048 8 | dd of="$work/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
printf '\x90\x90' | dd of="$work/boot.img" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$work/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
mv "$img" "$cache/disk.img"
touch "$cache/done"
echo "$cache" >&3
