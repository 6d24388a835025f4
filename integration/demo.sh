#!/usr/bin/env bash
# The virtual lab: one command that shows diskless booting PCs that have no disk.
#   sudo integration/demo.sh            one virtual PC (BIOS, iPXE → iSCSI sanboot)
#   sudo integration/demo.sh --pcs 4    four PCs at once, all from one image (volatile overlays)
# It installs what is missing (integration/deps.sh), builds diskless (build/), makes a 64 MiB test
# disk image, creates an isolated network namespace with a bridge and one tap per PC, starts
# `diskless serve` there with a demo inventory, boots the PCs in QEMU and shows their serial
# consoles, then removes everything it made. The machine's real interfaces are never touched.
set -euo pipefail
pcs=1
while [ $# -gt 0 ]; do
  case $1 in
    --pcs) pcs=${2:?--pcs needs a number}; shift 2 ;;
    --pcs=*) pcs=${1#--pcs=}; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
[[ $pcs =~ ^[0-9]+$ ]] && [ "$pcs" -ge 1 ] && [ "$pcs" -le 50 ] || { echo "--pcs: 1..50" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "run as root: it creates a network namespace and taps" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
echo "== dependencies"
"$here/deps.sh"
echo "== build"
build=${DISKLESS_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target diskless -j"${DISKLESS_JOBS:-$(nproc)}" | tail -n 1
bin=$build/diskless

source "$here/lib/common.sh"
source "$here/lib/qemu.sh"
source "$here/lib/diskless.sh"
dl_init dldemo
echo "== virtual lab: namespace $DL_NS, bridge br0 $DL_SERVER/24, $pcs PC(s)"
dl_net "$pcs"
"$here/images/bios_disk.sh" "$DL_TMP/lab.img"
hosts=
for ((i = 1; i <= pcs; i++)); do
  hosts+=$(printf '    <host mac="52:54:00:de:00:%02x" name="lab-%02d" image="lab" boot="sanboot" overlay="volatile"/>\n' "$i" "$i")
done
dl_inventory "$DL_TMP/diskless.xml" full ignore '    <image name="lab" disk="lab.img"/>' "$hosts"
echo "== inventory ($DL_TMP/diskless.xml)"
grep -E "<(server|dhcp|image|host) " "$DL_TMP/diskless.xml"
dl_serve "$bin" "$DL_TMP/diskless.xml"
echo "== diskless serve is running (pid $DL_DISKLESS_PID); powering on the PC(s)"

# Show each console as it runs, escape sequences stripped, prefixed with the PC's name.
show() {
  # --pid: tail (and so sed) end with this script whatever happens.
  tail --pid=$$ -n +1 -F "$DL_TMP/$1.serial" 2>/dev/null |
    sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r//g' -e '/^\s*$/d' -e "s/^/[$1] /"
}
pids=()
for ((i = 1; i <= pcs; i++)); do
  name=$(printf 'lab-%02d' "$i")
  : > "$DL_TMP/$name.serial"
  show "$name" &
  DL_PIDS+=($!)
  dl_qemu_start "$name" bios "tap$((i - 1))" "$(printf '52:54:00:de:00:%02x' "$i")" 300
  pids+=("$DL_LAST_PID")
done
ok=0
for ((i = 1; i <= pcs; i++)); do
  name=$(printf 'lab-%02d' "$i")
  dl_qemu_wait "$name" "${pids[$((i - 1))]}"
  if [ "$DL_QEMU_RC" = 33 ] && grep -q "DISKLESS-BIOS-DONE" "$DL_TMP/$name.serial"; then
    ok=$((ok + 1))
    results+="  $name booted from iSCSI and read its disk in ${DL_QEMU_SECONDS}s"$'\n'
  else
    results+="  $name FAILED (QEMU status $DL_QEMU_RC)"$'\n'
  fi
done
sleep 0.5
echo "== diskless log"
grep -E "OFFER|ACK|sent|logged in" "$DL_TMP/diskless.log" | sed 's/^/  /' | tail -n $((8 * pcs))
echo "== result: $ok of $pcs PC(s) booted"
printf '%s' "$results"
[ "$ok" = "$pcs" ]
