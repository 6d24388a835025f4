#!/usr/bin/env bash
# Boot-time bench: the same VM and the same images booted by diskless and by dnsmasq + tgt (the
# peer, tuned: enable-ra, no-ping, iPXE 175.176), medians of 3, with ratios. Four paths:
#   bios   SeaBIOS + iPXE ROM → DHCP → script → iSCSI sanboot of the nasm test disk
#   chain  the same PC, its ROM told at the prompt to chain undionly.kpxe over TFTP (what a lab
#          PC's vendor PXE ROM does): undionly → DHCP → script → the same sanboot
#   uefi   OVMF native PXE → x64 EFI iPXE (diskless: its efi-loader, snponly.efi by default;
#          dnsmasq: ipxe.efi) → script → iSCSI sanboot of the GRUB test disk
#   linux  iPXE ROM → script → kernel + initrd (diskless: over HTTP, its default; dnsmasq: TFTP)
#          → iscsistart login, ext4 root written
#   os     iPXE ROM → script → sanboot of an installed Debian 12 (images/installed_os.sh) → GRUB
#          from the disk → kernel → the initramfs' iBFT login → systemd multi-user → marker unit;
#          also prints the median wall time per phase (firmware, iPXE, GRUB, kernel, initramfs
#          login, systemd) from the serial console's timestamps. diskless serves the image
#          through a volatile overlay, tgt a fresh copy made when it starts (before each boot,
#          not timed).
# Where the BIOS time goes (tcpdump on br0, both servers alike): ~2.4 s SeaBIOS and the ROM's
# start before the first DISCOVER; then ~1 s in which the guest takes in no frame at all, because
# QEMU's e1000 holds received frames for 1 s after every RCTL write (its flush_queue_timer) and
# iPXE opens the NIC right before DISCOVER; both servers answer within a millisecond. The
# server's own share of a BIOS sanboot is ~0.2 s (script, login, the disk's reads).
# Time = QEMU start to QEMU exit (the guest ends it), wall clock. diskless answers iPXE's IPv6
# router solicitations itself (<dhcp ra>, on in full mode), as dnsmasq's enable-ra does.
# Usage: sudo integration/bench/boot.sh [PATH/TO/diskless] [RUNS]   (default build/diskless, 3)
# BOOT_PATHS="bios uefi linux" and BOOT_SERVERS="peer diskless" pick a subset; the server
# "diskless-ipxe.efi" is diskless with efi-loader="ipxe.efi" (the peer's UEFI loader).
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/peers.sh"
source "$here/lib/diskless.sh"
source "$here/lib/installed_os.sh"
bin=$(realpath "${1:-$here/../build/diskless}")
runs=${2:-3}
paths=${BOOT_PATHS:-bios chain uefi linux os}
servers=${BOOT_SERVERS:-peer diskless}
dl_init dlbench
dl_net 1
echo "== images" >&2
"$here/images/bios_disk.sh" "$DL_TMP/bios.img"
"$here/images/uefi_disk.sh" "$DL_TMP/uefi.img"
"$here/images/kernel.sh" "$DL_TMP/kernel" >/dev/null
"$here/images/initramfs.sh" iscsi "$DL_TMP/kernel" "$DL_TMP/initrd.gz"
"$here/images/ext4_disk.sh" "$DL_TMP/root.img"
if [[ " $paths " == *" os "* ]]; then
  dl_os_image
  ln -s "$DL_OS_DISK" "$DL_TMP/os.img"
fi
mkdir -p "$DL_TMP/peer-tftp"
cp /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi "$DL_TMP/kernel/vmlinuz" "$DL_TMP/initrd.gz" \
  "$DL_TMP/peer-tftp/"
mac_bios=52:54:00:be:00:01 mac_uefi=52:54:00:be:00:02 mac_linux=52:54:00:be:00:03
mac_os=52:54:00:be:00:04
cmdline="console=ttyS0 quiet panic=-1"
P=iqn.2026-11.lan.peer
# The peer's script: what templates/*.ipxe render for diskless, by hand for dnsmasq + tgt
# (tgt's disk is LUN 1: its LUN 0 is the controller).
cat > "$DL_TMP/peer-tftp/boot.ipxe" <<S
#!ipxe
iseq \${net0/mac} $mac_linux && goto linux ||
set initiator-iqn $P:initiator:pc
sanboot iscsi:$DL_SERVER:::1:$P:\${net0/mac:hexhyp} || goto fail
:linux
kernel tftp://$DL_SERVER/vmlinuz initrd=initrd $cmdline iscsi_initiator=$P:initiator:pc iscsi_target_name=$P:\${net0/mac:hexhyp} iscsi_target_ip=$DL_SERVER iscsi_target_port=3260 root=/dev/sda1 rootfstype=ext4
initrd --name initrd tftp://$DL_SERVER/initrd.gz
boot
:fail
poweroff
S

start_peer() {
  dl_dnsmasq full "$DL_TMP/peer-tftp" boot.ipxe
  dl_tgt "$P:${mac_bios//:/-}" "$DL_TMP/bios.img"
  local t="tgtadm -C $DL_TGT_CTL --lld iscsi" tid=2 m disk
  for m in uefi linux; do
    eval "disk=\$DL_TMP/\$( [ $m = uefi ] && echo uefi.img || echo root.img)"
    eval "mac=\$mac_$m"
    $t --op new --mode target --tid $tid -T "$P:${mac//:/-}"
    $t --op new --mode logicalunit --tid $tid --lun 1 -b "$disk"
    $t --op bind --mode target --tid $tid -I ALL
    tid=$((tid + 1))
  done
  if [ -e "$DL_TMP/os.img" ]; then
    cp --sparse=always "$DL_OS_DISK" "$DL_TMP/os-peer.img"
    $t --op new --mode target --tid $tid -T "$P:${mac_os//:/-}"
    $t --op new --mode logicalunit --tid $tid --lun 1 -b "$DL_TMP/os-peer.img"
    $t --op bind --mode target --tid $tid -I ALL
  fi
}
stop_peer() { dl_kill "$DL_DNSMASQ_PID"; dl_kill "$DL_TGT_PID"; }

os_image= os_host=
if [ -e "$DL_TMP/os.img" ]; then
  os_image='<image name="os" disk="os.img"/>'
  os_host="<host mac=\"$mac_os\" name=\"pc-os\" image=\"os\" boot=\"sanboot\" overlay=\"volatile\"/>"
fi
start_diskless() {
  dl_inventory "$DL_TMP/diskless.xml" full ignore \
    "<image name=\"bios\" disk=\"bios.img\"/>
     <image name=\"uefi\" disk=\"uefi.img\"/>
     <image name=\"rootfs\" disk=\"root.img\" kernel=\"kernel/vmlinuz\" initrd=\"initrd.gz\" cmdline=\"$cmdline\"/>
     $os_image" \
    "<host mac=\"$mac_bios\" name=\"pc-bios\" image=\"bios\" boot=\"sanboot\"/>
     <host mac=\"$mac_uefi\" name=\"pc-uefi\" image=\"uefi\" boot=\"sanboot\"/>
     <host mac=\"$mac_linux\" name=\"pc-linux\" image=\"rootfs\" boot=\"iscsi-root\"/>
     $os_host"
  # $1: attributes added to <dhcp> (e.g. efi-loader="ipxe.efi").
  [ -z "${1:-}" ] || sed -i "s|<dhcp mode=|<dhcp $1 mode=|" "$DL_TMP/diskless.xml"
  dl_serve "$bin" "$DL_TMP/diskless.xml"
}
stop_diskless() {
  dl_kill "$DL_DISKLESS_PID"
  mv "$DL_TMP/diskless.log" "$DL_TMP/diskless-$(date +%s%N).log"
}

# boot PATH SERVER: one boot; prints seconds, or fails with the console. The os path also
# appends its phases to $DL_TMP/phases.SERVER.
boot() {
  local path=$1 server=$2 name="$1-$RANDOM"
  case $path in
    bios) dl_qemu "$name" bios tap0 "$mac_bios" 180; want=DISKLESS-BIOS-DONE ;;
    chain)
      # As test_boot_bios_chain.sh: the ROM is stopped at its prompt and chains undionly.kpxe
      # over TFTP from the server under test; undionly (iPXE over UNDI) asks DHCP again.
      DL_SERIAL_KEYS=('Ctrl-B for the iPXE command line=\x02'
        "iPXE>=dhcp && chain tftp://$DL_SERVER/undionly.kpxe\\r")
      dl_qemu "$name" bios tap0 "$mac_bios" 180
      DL_SERIAL_KEYS=()
      want=DISKLESS-BIOS-DONE
      ;;
    uefi) dl_qemu "$name" uefi tap0 "$mac_uefi" 240; want=DISKLESS-UEFI-DONE ;;
    linux) dl_qemu "$name" bios tap0 "$mac_linux" 240; want=DISKLESS-ISCSI-ROOT-OK ;;
    os)
      DL_SERIAL_TIMES=1 dl_qemu "$name" bios tap0 "$mac_os" 900 "${DL_OS_QEMU[@]}"
      want=DISKLESS-OS-DONE
      ;;
  esac
  dl_expect_serial "$name" "$want" >&2
  [ "$path" != os ] || dl_os_phases "$name" >> "$DL_TMP/phases.$server"
  echo "$DL_QEMU_SECONDS"
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

declare -A result times
# Each path is booted by every server back to back, and the order of the servers flips every
# round (A B, B A, ...): the machine's speed drifts (under TCG a boot's time is mostly guest
# CPU), and a fixed order, or all paths of one server before the other's, would put the drift
# into the ratio. Servers start afresh for each boot (not timed: the clock starts with QEMU).
for ((r = 1; r <= runs; r++)); do
  order=$servers
  if ((r % 2 == 0)); then order=$(printf '%s\n' $servers | tac | tr '\n' ' '); fi
  for path in $paths; do
    for server in $order; do
      case $server in
        peer) start_peer ;;
        diskless) start_diskless ;;
        diskless-ipxe.efi) start_diskless 'efi-loader="ipxe.efi"' ;;
        *) dl_fail "unknown server $server" ;;
      esac
      t=$(boot "$path" "$server") || dl_fail "$server: $path boot $r failed"
      times[$server/$path]+=" $t"
      echo "  $server $path run $r: $t s" >&2
      case $server in peer) stop_peer ;; *) stop_diskless ;; esac
    done
  done
done
for server in $servers; do
  for path in $paths; do
    # shellcheck disable=SC2086
    result[$server/$path]=$(median ${times[$server/$path]})
  done
done
echo
printf '%-8s' path
for server in $servers; do printf ' %18s' "$server (s)"; [ "$server" = peer ] || printf ' %6s' ratio; done
echo
for path in $paths; do
  p=${result[peer/$path]:-0}
  printf '%-8s' "$path"
  for server in $servers; do
    d=${result[$server/$path]:-0}
    printf ' %18s' "$d"
    [ "$server" = peer ] ||
      printf ' %6s' "$(awk -v a="$d" -v b="$p" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "-"}')"
  done
  echo
done
if [[ " $paths " == *" os "* ]]; then
  echo
  echo "os boot per phase (s, medians of $runs; firmware → iPXE → GRUB → kernel → initramfs login → systemd):"
  for server in $servers; do
    printf '%-18s' "$server"
    for ph in firmware ipxe grub kernel initramfs systemd total; do
      # shellcheck disable=SC2046
      printf ' %s=%s' "$ph" "$(median $(sed -n "s/.*\b$ph=\([0-9.]*\).*/\1/p" "$DL_TMP/phases.$server"))"
    done
    echo
  done
fi
echo "(peer = dnsmasq + tgt)"
echo "(medians of $runs; ratio = diskless / dnsmasq+tgt, lower is better)"
