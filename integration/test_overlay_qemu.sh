#!/usr/bin/env bash
# Per-host overlays end to end (src/disks/README.md): three QEMU PCs (TCG, SeaBIOS + the e1000's iPXE ROM)
# sanboot the same golden image (images/marker_disk.sh) from diskless: pc-v1 and pc-v2 with
# overlay="volatile", pc-p with overlay="persistent". Each PC's boot sector prints the marker
# sector it finds, writes a marker unique to the PC and boot through INT 13h, reads it back.
#   boot 1: every PC finds the golden marker and reads back its own (distinct) marker;
#   boot 2 (a reboot: a new iPXE boot, i.e. a new boot epoch; the sessions of boot 1 are still
#           open on the server, as after a hard reset): the volatile PCs find the golden marker
#           again, the persistent PC finds its boot-1 marker; each reads back its new marker;
#   the golden image is byte for byte unchanged throughout.
# Usage: test_overlay_qemu.sh PATH/TO/diskless   (root)
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlovq
dl_net 3
pcs=(pc-v1 pc-v2 pc-p)
declare -A mac=([pc-v1]=52:54:00:07:0e:01 [pc-v2]=52:54:00:07:0e:02 [pc-p]=52:54:00:07:0e:03)
declare -A mode=([pc-v1]=volatile [pc-v2]=volatile [pc-p]=persistent)
"$here/images/marker_disk.sh" "$DL_TMP/gold.img"
golden=$(cat "$DL_TMP/gold.img.expect")
gold_sum=$(sha256sum <"$DL_TMP/gold.img")
hosts=
for pc in "${pcs[@]}"; do
  hosts+="<host mac=\"${mac[$pc]}\" name=\"$pc\" image=\"gold\" boot=\"sanboot\" overlay=\"${mode[$pc]}\"/>"
done
dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="gold" disk="gold.img"/>' "$hosts"
dl_serve "$bin" "$DL_TMP/diskless.xml"

# FIELD of NAME's serial log: the 16 characters after "FIELD=" (the console may slip dots and
# blanks between the boot sector's port writes: they are removed first).
field() { tr -d $'. \r\n' <"$DL_TMP/$1.serial" | grep -o "$2=[^;]*;" | head -n 1 | sed "s/^$2=//; s/;$//"; }

declare -A new1
boot_all() {
  local run=$1 pc i=0 pids=()
  dl_log "boot $run: ${pcs[*]}"
  for pc in "${pcs[@]}"; do
    dl_qemu_start "$pc.$run" bios "tap$i" "${mac[$pc]}" 240
    pids+=("$DL_LAST_PID")
    i=$((i + 1))
  done
  i=0
  for pc in "${pcs[@]}"; do
    dl_qemu_wait "$pc.$run" "${pids[$i]}"
    dl_expect_serial "$pc.$run" "DISKLESS-MARKER-BOOT"
    dl_expect_serial "$pc.$run" "DISKLESS-MARKER-DONE"
    [ "$DL_QEMU_RC" = 33 ] || dl_fail "$pc.$run: QEMU ended with $DL_QEMU_RC, not 33"
    dl_log "$pc ($run, ${mode[$pc]}): OLD=$(field "$pc.$run" OLD) NEW=$(field "$pc.$run" NEW) BACK=$(field "$pc.$run" BACK) (${DL_QEMU_SECONDS}s)"
    i=$((i + 1))
  done
}
check_own() {
  local run=$1 pc seen=
  for pc in "${pcs[@]}"; do
    local n
    n=$(field "$pc.$run" NEW)
    [[ $n =~ ^[0-9a-f]{16}$ ]] || dl_fail "$pc.$run: bad marker '$n'"
    [ "$(field "$pc.$run" BACK)" = "$n" ] || dl_fail "$pc.$run: read back '$(field "$pc.$run" BACK)', wrote '$n'"
    [[ " $seen " != *" $n "* ]] || dl_fail "$pc.$run: marker $n is not unique"
    seen+=" $n"
  done
}

boot_all 1
for pc in "${pcs[@]}"; do
  [ "$(field "$pc.1" OLD)" = "$golden" ] || dl_fail "$pc.1: found '$(field "$pc.1" OLD)', not the golden marker"
  new1[$pc]=$(field "$pc.1" NEW)
done
check_own 1
[ "$(sha256sum <"$DL_TMP/gold.img")" = "$gold_sum" ] || dl_fail "golden image changed by boot 1"
for pc in "${pcs[@]}"; do
  [ -f "$DL_TMP/state/overlays/${mac[$pc]//:/-}.qcow2" ] || dl_fail "no overlay for $pc"
done

recreated() { grep -c "new boot: volatile overlay .* recreated empty" "$DL_TMP/diskless.log" || true; }
[ "$(recreated)" -eq 2 ] || dl_fail "expected 2 volatile overlays made at boot 1, log has $(recreated)"
ended() { grep -c "a new boot of the host began" "$DL_TMP/diskless.log" || true; }
boot_all 2
for pc in pc-v1 pc-v2; do
  [ "$(field "$pc.2" OLD)" = "$golden" ] ||
    dl_fail "$pc (volatile) found '$(field "$pc.2" OLD)' after a reboot, not the golden marker"
done
[ "$(field pc-p.2 OLD)" = "${new1[pc-p]}" ] ||
  dl_fail "pc-p (persistent) found '$(field pc-p.2 OLD)' after a reboot, not its marker ${new1[pc-p]}"
check_own 2
[ "$(sha256sum <"$DL_TMP/gold.img")" = "$gold_sum" ] || dl_fail "golden image changed by boot 2"
[ "$(recreated)" -eq 4 ] || dl_fail "expected 2 more volatile recreations at boot 2, log has $(recreated)"
dl_log "stale sessions of boot 1 ended at a volatile PC's first boot-2 login: $(ended)"
echo "PASS overlays end to end (2 volatile + 1 persistent PC, boot and reboot)"
