#!/usr/bin/env bash
# Builds a busybox-static initramfs (gzip'ed newc cpio) for the boot tests.
#   initramfs.sh marker KERNEL_DIR OUT     prints "DISKLESS-LINUX-OK <cmdline>" on ttyS0, powers off
#   initramfs.sh iscsi  KERNEL_DIR OUT     brings up eth0 by DHCP (udhcpc), logs into the iSCSI
#       target named on the kernel command line (iscsi_initiator= iscsi_target_name=
#       iscsi_target_ip= iscsi_target_port= [iscsi_username= iscsi_password=], the Debian
#       initramfs-tools open-iscsi hook's parameters) with iscsistart, mounts root= as rootfstype=,
#       writes /diskless-iscsi-root.txt there, syncs, prints "DISKLESS-ISCSI-ROOT-OK" and powers off.
#       It also prints the initiator and target of the iBFT, if the firmware left one
#       ("DISKLESS-IBFT <initiator> -> <target>").
# KERNEL_DIR is what kernel.sh made (its modules are copied in as needed).
set -euo pipefail
mode=${1:?usage: initramfs.sh marker|iscsi KERNEL_DIR OUT}
kdir=${2:?}
out=${3:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"/{bin,sbin,dev,proc,sys,mnt,etc,lib/modules,usr/share/udhcpc}
cp /bin/busybox "$r/bin/busybox"

cat > "$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
say() { echo "$*" > /dev/ttyS0; }
fail() { say "DISKLESS-FAIL $*"; poweroff -f; }
arg() { for w in $(cat /proc/cmdline); do case "$w" in "$1="*) echo "${w#*=}";; esac; done; }
INIT

if [ "$mode" = marker ]; then
  cat >> "$r/init" <<'INIT'
say "DISKLESS-LINUX-OK $(cat /proc/cmdline)"
poweroff -f
INIT
else
  version=$(cat "$kdir/version")
  kroot=$kdir/root
  [ -f "$kroot/lib/modules/$version/modules.dep" ] || depmod -b "$kroot" "$version"
  # iscsi_tcp refuses to start a connection unless crc32c is available, even with digests off.
  mods=(e1000 virtio_net virtio_pci crc32c_generic libcrc32c iscsi_tcp sd_mod ext4 iscsi_ibft)
  : > "$r/modules.list"
  for m in "${mods[@]}"; do
    modprobe -d "$kroot" -S "$version" --show-depends "$m" | awk '$1 == "insmod" {print $2}' |
      while read -r ko; do
        name=$(basename "$ko")
        if ! grep -qx "$name" "$r/modules.list"; then
          cp "$ko" "$r/lib/modules/$name"
          echo "$name" >> "$r/modules.list"
        fi
      done
  done
  # iscsistart and the shared libraries it needs.
  cp /usr/sbin/iscsistart "$r/sbin/"
  for lib in $(ldd /usr/sbin/iscsistart | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
    mkdir -p "$r$(dirname "$lib")"
    cp -L "$lib" "$r$lib"
  done
  cat > "$r/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    ;;
esac
DHCP
  chmod +x "$r/usr/share/udhcpc/default.script"
  cat >> "$r/init" <<'INIT'
for m in $(cat /modules.list); do insmod /lib/modules/$m 2>/dev/null; done
ip link set lo up
ip link set eth0 up || fail "no eth0"
udhcpc -i eth0 -q -n -t 10 -T 1 -s /usr/share/udhcpc/default.script > /dev/ttyS0 2>&1 ||
  fail "no DHCP lease"
say "DISKLESS-NET $(ip -4 -o addr show dev eth0)"
# The iBFT iPXE's sanhook left (iscsi_ibft exports it); what an iBFT-reading initramfs would use.
say "DISKLESS-IBFT $(cat /sys/firmware/ibft/initiator/initiator-name 2>/dev/null) -> $(cat /sys/firmware/ibft/target0/target-name 2>/dev/null)"
initiator=$(arg iscsi_initiator); target=$(arg iscsi_target_name)
ip=$(arg iscsi_target_ip); port=$(arg iscsi_target_port)
user=$(arg iscsi_username); pass=$(arg iscsi_password)
root=$(arg root); fstype=$(arg rootfstype)
say "DISKLESS-ISCSI-LOGIN $initiator -> $target at $ip:${port:-3260}"
set -- -i "$initiator" -t "$target" -g 1 -a "$ip" -p "${port:-3260}"
[ -n "$user" ] && set -- "$@" -u "$user" -w "$pass"
timeout 60 iscsistart "$@" > /dev/ttyS0 2>&1 || fail "iscsistart failed"
n=0
while [ ! -b "$root" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
[ -b "$root" ] || fail "no $root after login"
mount -t "${fstype:-ext4}" "$root" /mnt || fail "mount $root failed"
echo "written by $(hostname) via $initiator: $(arg diskless_token)" > /mnt/diskless-iscsi-root.txt
sync
umount /mnt || fail "umount failed"
sync
say "DISKLESS-ISCSI-ROOT-OK"
poweroff -f
INIT
fi
chmod +x "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$out"
