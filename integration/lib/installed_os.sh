# Helpers for the tests that boot the installed Debian system of images/installed_os.sh through
# sanboot (source after common.sh and qemu.sh).
#   dl_os_image                 builds or finds the cached disk; sets DL_OS_DISK (raw, golden:
#                               serve it through overlays only, never writable)
#   dl_os_boot NAME FW TAP MAC  one boot of the installed system to its power-off (timed serial,
#                               QEMU arguments DL_OS_QEMU); fails unless the marker unit ran
#   dl_os_field NAME KEY        a KEY=value of NAME's DISKLESS-OS-MARKER or -DISK line
#   dl_os_expect NAME KEY WANT  fails unless dl_os_field NAME KEY is WANT
#   dl_os_check_ibft NAME HOST MAC IP [CHAP_USER [MUTUAL_USER]]
#                               the iBFT the booted OS read names the host's NIC, address,
#                               gateway, initiator, target (name, address, port, LUN 0), CHAP user
#   dl_os_phases NAME           prints the boot's wall time per phase from the serial timestamps
DL_OS_IQN=iqn.2026-11.lan.diskless

dl_os_image() {
  local dir
  dir=$("$DL_ROOT/integration/images/installed_os.sh") || dl_fail "images/installed_os.sh failed"
  DL_OS_DISK=$dir/disk.img
}

# The installed system's PCs get 512 MiB: GRUB 2.06's EFI loader runs out of memory reading
# Debian's kernel and initrd with the 256 MiB the other boot tests give.
DL_OS_QEMU=(-m 512M)

dl_os_boot() {
  local name=$1 fw=$2 tap=$3 mac=$4
  DL_SERIAL_TIMES=1 dl_qemu "$name" "$fw" "$tap" "$mac" "${DL_OS_TIMEOUT:-900}" "${DL_OS_QEMU[@]}"
  dl_expect_serial "$name" DISKLESS-OS-DONE
  dl_log "$name: booted to the marker and powered off in ${DL_QEMU_SECONDS}s ($(dl_os_phases "$name"))"
}

# Values are single words (the marker script prints key=value pairs separated by blanks).
dl_os_field() {
  local name=$1 key=$2
  tr -d '\r' <"$DL_TMP/$name.serial" | grep -a -E '^DISKLESS-OS-(MARKER|DISK) ' |
    tr ' ' '\n' | sed -n "s/^$key=//p" | head -n 1
}

dl_os_expect() {
  local name=$1 key=$2 want=$3 got
  got=$(dl_os_field "$name" "$key")
  [ "$got" = "$want" ] || dl_fail "$name: $key is '$got' inside the booted OS, expected '$want'"
}

dl_os_check_ibft() {
  local name=$1 host=$2 mac=$3 ip=$4 chap=${5:-} mutual=${6:-}
  dl_os_expect "$name" mac "$mac"
  dl_os_expect "$name" ip "$ip"
  dl_os_expect "$name" gateway "$DL_SERVER"
  dl_os_expect "$name" initiator "$DL_OS_IQN:initiator:$host"
  dl_os_expect "$name" target "$DL_OS_IQN:$host"
  dl_os_expect "$name" target-ip "$DL_SERVER"
  dl_os_expect "$name" port 3260
  [[ $(dl_os_field "$name" lun) =~ ^0+$ ]] || dl_fail "$name: iBFT LUN '$(dl_os_field "$name" lun)', not 0"
  dl_os_expect "$name" chap-user "$chap"
  dl_os_expect "$name" rev-chap-user "$mutual"
}

# Phases, each ending at the first console line that holds its mark (QEMU's start is the origin):
# firmware (SeaBIOS/OVMF up to iPXE), ipxe (DHCP, script, iSCSI login, up to GRUB's config),
# grub (kernel and initrd read through the SAN disk), kernel (up to the initramfs' first
# script), initramfs (iBFT login, root mounted), systemd (to the marker unit).
dl_os_phases() {
  local name=$1
  awk -v t0="$(cat "$DL_TMP/$name.start")" '
    BEGIN { n = split("firmware:iPXE initialising devices|ipxe:DISKLESS-GRUB|grub:DISKLESS-GRUB-BOOT|kernel:DISKLESS-INITRAMFS|initramfs:DISKLESS-ROOT|systemd:DISKLESS-OS-MARKER", p, "|")
            for (i = 1; i <= n; i++) { k = index(p[i], ":"); ph[i] = substr(p[i], 1, k - 1); mk[i] = substr(p[i], k + 1) }
            i = 1; last = t0 }
    i <= n {
      line = substr($0, index($0, " ") + 1)
      # DISKLESS-GRUB must not match DISKLESS-GRUB-BOOT: marks are whole words.
      if (index(line, mk[i]) && (mk[i] != "DISKLESS-GRUB" || line !~ /DISKLESS-GRUB-BOOT/)) {
        printf "%s%s=%.1f", (i > 1 ? " " : ""), ph[i], $1 - last; last = $1; i++
      }
    }
    END { printf " total=%.1f\n", last - t0 }' "$DL_TMP/$name.times"
}
