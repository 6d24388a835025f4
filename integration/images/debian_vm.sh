#!/usr/bin/env bash
# Builds a small bootable Debian 12 system for QEMU tests: a root file system image with systemd
# as PID 1, its kernel and initrd. Made with debootstrap from the machine's Debian mirror and cached
# under $DISKLESS_VM_CACHE (default /var/cache/diskless-tests)/<hash>/, where the hash covers this
# script and the package list, so it is rebuilt only when either changes.
# Usage: debian_vm.sh [PACKAGE...]     (extra packages to preinstall, e.g. a .deb's Depends)
# Prints the cache directory, which holds: root.img (raw ext4, label dlroot), vmlinuz, initrd.img.
# The system boots with root=/dev/vda, serial console on ttyS0, no network, and at the end of the
# boot runs /run.sh from the ext4 file system on /dev/vdb (when there is one) with its output on
# ttyS0, then powers off. Images are meant to be used through a qcow2 overlay (never written).
# Needs root, debootstrap, e2fsprogs.
set -euo pipefail
base=(systemd systemd-sysv linux-image-amd64 initramfs-tools udev adduser)
extra=("$@")
mapfile -t pkgs < <(printf '%s\n' "${base[@]}" "${extra[@]}" | sort -u)
self=$(readlink -f "${BASH_SOURCE[0]}")
key=$( (cat "$self"; printf '%s\n' "${pkgs[@]}") | sha256sum | cut -c1-16)
cache=${DISKLESS_VM_CACHE:-/var/cache/diskless-tests}/debian12-$key
if [ -f "$cache/done" ]; then
  echo "$cache"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debian_vm.sh: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "debian_vm.sh: apt-get install debootstrap" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -f "$cache/done" ]; then echo "$cache"; exit 0; fi

# The machine's own Debian mirror (first deb822 URIs or one-line entry for Debian).
mirror=$( (grep -rshoE '^(URIs:|deb) *https?://[^ ]*debian/?( |$)' /etc/apt/sources.list \
  /etc/apt/sources.list.d/ || true) | grep -v security | head -n1 | awk '{print $2}')
mirror=${mirror:-http://deb.debian.org/debian}
tree=$cache/tree
rm -rf "$tree"
echo "debian_vm.sh: debootstrap bookworm from $mirror into $tree (once; cached)" >&2
list=$(IFS=,; echo "${pkgs[*]}")
# A small initrd, made fast: only what this VM's root needs (virtio disk, ext4), not MODULES=most.
# In place before debootstrap so that the kernel's own update-initramfs uses it.
mkdir -p "$tree/etc/initramfs-tools/conf.d" "$tree/etc/initramfs-tools/hooks"
echo MODULES=list > "$tree/etc/initramfs-tools/conf.d/diskless-vm.conf"
cat > "$tree/etc/initramfs-tools/hooks/diskless-vm" <<'HOOK'
#!/bin/sh
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
manual_add_modules virtio_pci virtio_blk ext4
HOOK
chmod +x "$tree/etc/initramfs-tools/hooks/diskless-vm"
debs=${cache%/*}/debs  # downloaded packages, kept for the next rebuild
mkdir -p "$debs"
if ! debootstrap --variant=minbase --cache-dir="$debs" --include="$list" bookworm "$tree" \
  "$mirror" >"$cache/debootstrap.log" 2>&1; then
  tail -n 30 "$cache/debootstrap.log" >&2
  exit 1
fi

echo dlvm > "$tree/etc/hostname"
echo '/dev/vda / ext4 defaults 0 1' > "$tree/etc/fstab"
chroot "$tree" passwd -d root >/dev/null
# The serial console carries the test's output only: no login prompts on it.
ln -sf /dev/null "$tree/etc/systemd/system/serial-getty@ttyS0.service"
ln -sf /dev/null "$tree/etc/systemd/system/getty@tty1.service"
cat > "$tree/etc/systemd/system/vm-run.service" <<'UNIT'
[Unit]
Description=Run /run.sh from the second disk and power off
After=multi-user.target
ConditionPathExists=/dev/vdb

[Service]
Type=oneshot
TimeoutStartSec=infinity
ExecStart=/bin/sh -c 'mkdir -p /mnt/run && mount -o ro /dev/vdb /mnt/run && exec /bin/bash /mnt/run/run.sh'
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS0
ExecStopPost=/bin/systemctl poweroff --no-block

[Install]
WantedBy=default.target
UNIT
mkdir -p "$tree/etc/systemd/system/default.target.wants"
ln -sf ../vm-run.service "$tree/etc/systemd/system/default.target.wants/vm-run.service"
chroot "$tree" apt-get clean
rm -rf "$tree/var/lib/apt/lists/"* "$tree/usr/share/doc" "$tree/usr/share/man" "$tree/usr/share/locale"

kver=$(ls "$tree/lib/modules" | head -n1)
cp "$tree/boot/vmlinuz-$kver" "$cache/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$cache/initrd.img"
size=$(( $(du -sm "$tree" | cut -f1) + 512 ))
mkfs.ext4 -q -F -L dlroot -d "$tree" "$cache/root.img" "${size}M"
rm -rf "$tree"
touch "$cache/done"
echo "$cache"
