#!/usr/bin/env bash
# Two PCs boot one golden image of an installed Debian (images/installed_os.sh) at the same time
# (BIOS iPXE ROM → sanboot → GRUB → the initramfs' iBFT login → multi-user → marker unit):
# pc-vol with overlay="volatile", pc-per with overlay="persistent"; then both boot again.
#   boot 1: each PC's /var/lib/marker holds only its own line (no write of one PC shows in the
#           other's disk); the two disks have distinct identities (VPD 80h serial, VPD 83h NAA as
#           /dev/disk/by-id/wwn-...), and each iBFT names its own host;
#   boot 2: the volatile PC's marker is gone (one line again: a clean overlay), the persistent
#           PC's has both lines, the first one boot 1's (the handover from iPXE's session to the
#           OS's own login, which overlap, lost no write and reset no overlay); identities are
#           the same as at boot 1;
#   the golden image is byte for byte unchanged; only the volatile overlay was recreated, once
#   per boot.
# Usage: test_boot_installed_two_pcs.sh PATH/TO/diskless   (root; builds the image once, cached)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
source "$here/lib/installed_os.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlos2
dl_os_image
dl_net 2
pcs=(pc-vol pc-per)
declare -A mac=([pc-vol]=52:54:00:05:02:01 [pc-per]=52:54:00:05:02:02)
declare -A ip=([pc-vol]=10.77.0.71 [pc-per]=10.77.0.72)
declare -A mode=([pc-vol]=volatile [pc-per]=persistent)
ln -s "$DL_OS_DISK" "$DL_TMP/os.img"
gold_sum=$(sha256sum <"$DL_OS_DISK")
hosts=
for pc in "${pcs[@]}"; do
  hosts+="<host mac=\"${mac[$pc]}\" name=\"$pc\" image=\"debian\" boot=\"sanboot\" overlay=\"${mode[$pc]}\" ip=\"${ip[$pc]}\"/>"
done
dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="debian" disk="os.img"/>' "$hosts"
dl_serve "$bin" "$DL_TMP/diskless.xml"

boot_both() {
  local run=$1 pc i=0 pids=()
  for pc in "${pcs[@]}"; do
    DL_SERIAL_TIMES=1 dl_qemu_start "$pc.$run" bios "tap$i" "${mac[$pc]}" "${DL_OS_TIMEOUT:-900}" \
      "${DL_OS_QEMU[@]}"
    pids+=("$DL_LAST_PID")
    i=$((i + 1))
  done
  i=0
  for pc in "${pcs[@]}"; do
    dl_qemu_wait "$pc.$run" "${pids[$i]}"
    dl_expect_serial "$pc.$run" DISKLESS-OS-DONE
    dl_os_check_ibft "$pc.$run" "$pc" "${mac[$pc]}" "${ip[$pc]}"
    dl_log "$pc boot $run (${mode[$pc]}): ${DL_QEMU_SECONDS}s ($(dl_os_phases "$pc.$run"))"
    i=$((i + 1))
  done
}
lines() { tr -d '\r' <"$DL_TMP/$1.serial" | sed -n 's/^DISKLESS-OS-MARKERFILE //p' | tr '|' '\n' | grep -c '^boot=' || true; }
line() { tr -d '\r' <"$DL_TMP/$1.serial" | sed -n 's/^DISKLESS-OS-MARKERFILE //p' | cut -d'|' -f"$2"; }
recreated() { grep -c "new boot: volatile overlay .* recreated empty" "$DL_TMP/diskless.log" || true; }

dl_log "boot 1: ${pcs[*]} at once"
boot_both 1
for pc in "${pcs[@]}"; do
  dl_os_expect "$pc.1" boots 1
  [ "$(lines "$pc.1")" = 1 ] || dl_fail "$pc: marker file after boot 1: '$(line "$pc.1" 1-)'"
  [[ $(line "$pc.1" 1) == "boot=1 host=$pc mac=${mac[$pc]} "* ]] ||
    dl_fail "$pc: marker file holds '$(line "$pc.1" 1)', not its own line"
done
declare -A serial naa
for pc in "${pcs[@]}"; do
  serial[$pc]=$(dl_os_field "$pc.1" serial)
  naa[$pc]=$(dl_os_field "$pc.1" naa)
  [[ ${naa[$pc]} =~ ^0x[0-9a-f]{16,32}$ ]] || dl_fail "$pc: no NAA designator ('${naa[$pc]}')"
  [ -n "${serial[$pc]}" ] || dl_fail "$pc: no VPD 80h serial"
  [[ ,$(dl_os_field "$pc.1" by-id) == *",wwn-${naa[$pc]},"* ]] ||
    dl_fail "$pc: /dev/disk/by-id lacks wwn-${naa[$pc]} ($(dl_os_field "$pc.1" by-id))"
done
[ "${serial[pc-vol]}" != "${serial[pc-per]}" ] || dl_fail "both PCs' disks have serial ${serial[pc-vol]}"
[ "${naa[pc-vol]}" != "${naa[pc-per]}" ] || dl_fail "both PCs' disks have NAA ${naa[pc-vol]}"
[ "$(recreated)" = 1 ] || dl_fail "boot 1: $(recreated) volatile overlays recreated, expected 1"

dl_log "boot 2: ${pcs[*]} again"
boot_both 2
dl_os_expect pc-vol.2 boots 1
[ "$(lines pc-vol.2)" = 1 ] || dl_fail "pc-vol (volatile) kept its marker over a reboot: '$(line pc-vol.2 1-)'"
dl_os_expect pc-per.2 boots 2
[ "$(lines pc-per.2)" = 2 ] || dl_fail "pc-per (persistent): marker file after boot 2: '$(line pc-per.2 1-)'"
[ "$(line pc-per.2 1)" = "$(line pc-per.1 1)" ] ||
  dl_fail "pc-per: boot 1's line changed: '$(line pc-per.2 1)' (was '$(line pc-per.1 1)')"
for pc in "${pcs[@]}"; do
  dl_os_expect "$pc.2" serial "${serial[$pc]}"
  dl_os_expect "$pc.2" naa "${naa[$pc]}"
done
[ "$(recreated)" = 2 ] || dl_fail "after boot 2: $(recreated) volatile overlays recreated, expected 2"
[ "$(sha256sum <"$DL_OS_DISK")" = "$gold_sum" ] || dl_fail "the golden image changed"
echo "PASS two PCs on one installed golden image (volatile + persistent, boot and reboot; distinct, stable disk identities)"
