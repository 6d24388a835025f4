#!/usr/bin/env bash
# The Debian package under a real systemd: builds the .deb (cpack), boots a small Debian 12 VM
# (images/debian_vm.sh, cached) in QEMU, and inside it installs the package, starts, reloads and
# stops the service, checks the journal's priorities, the unit's hardening (systemd-analyze
# verify/security) and a clear failure on a missing inventory, then purges the package.
# The guest script runs at the end of the boot and reports on the serial console ("VMTEST ...").
# Usage: test_service_vm.sh DISKLESS_BINARY   (the build dir is that binary's directory, or
# $DISKLESS_BUILD_DIR)
set -euo pipefail
bin=$(readlink -f "${1:?usage: test_service_vm.sh DISKLESS_BINARY}")
build=${DISKLESS_BUILD_DIR:-$(dirname "$bin")}
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (debootstrap, mkfs)"; exit 0; }
for tool in cpack debootstrap qemu-system-x86_64 qemu-img mkfs.ext4 dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (integration/deps.sh)" >&2; exit 1; }
done
start=$(date +%s)
tmp=$(mktemp -d /tmp/diskless-vm.XXXXXX)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then kill "$qemu_pid"; wait "$qemu_pid" || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== package"
cmake --build "$build" --target diskless diskless_docs >/dev/null
rm -f "$build"/diskless_*.deb
(cd "$build" && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack"; }
deb=$(ls "$build"/diskless_*_amd64.deb)
echo "$(basename "$deb"): Depends: $(dpkg-deb -f "$deb" Depends)"
# Offline install in the VM: its Depends are preinstalled in the image (the base system's own
# libraries and adduser are there already).
mapfile -t deps < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' |
  grep -vxE 'libc6|libgcc-s1|libstdc\+\+6|adduser' | sort -u)
# debootstrap takes real packages only: a virtual one (libspdlog1.10-fmt9) becomes its provider.
for i in "${!deps[@]}"; do
  if [ -z "$(apt-cache show "${deps[$i]}" 2>/dev/null)" ]; then
    provider=$(apt-cache showpkg "${deps[$i]}" | awk '/^Reverse Provides:/ {f = 1; next} f {print $1; exit}')
    [ -n "$provider" ] || fail "no package provides ${deps[$i]} (apt-get update?)"
    deps[$i]=$provider
  fi
done

echo "== VM image (debootstrap once, then cached)"
t0=$(date +%s)
vm=$("$here/images/debian_vm.sh" "${deps[@]}" | tail -n1)
echo "image ready in $(( $(date +%s) - t0 )) s: $vm"

mkdir "$tmp/data"
cp "$deb" "$tmp/data/diskless.deb"
cat >"$tmp/data/run.sh" <<'GUEST'
#!/bin/bash
# Runs inside the VM as root, output on the serial console.
set -u
say() { echo "VMTEST $*"; }
# A failed check is reported and the rest still run (one boot shows every problem).
failed=0
fail() { say "FAIL: $*"; systemctl status diskless --no-pager -l 2>&1 | tail -n 8; failed=1; }
journal_has() {  # journal_has PRIORITY TEXT: waits up to 60 s for TEXT at PRIORITY or above
  for _ in $(seq 120); do
    journalctl -u diskless -p "$1" -o cat --no-pager | grep -qF -- "$2" && return 0
    sleep 0.5
  done
  return 1
}
export DEBIAN_FRONTEND=noninteractive
cp /mnt/run/diskless.deb /root/diskless.deb
# dpkg -i: the VM is offline and its Depends are preinstalled (apt-get install ./x.deb wants
# package lists to resolve a local file).
dpkg -i /root/diskless.deb >/root/apt.log 2>&1 || { tail -n 20 /root/apt.log; fail "dpkg -i diskless.deb"; }
say "installed"
getent passwd diskless >/dev/null || fail "no diskless user"
[ "$(stat -c %U:%G /var/lib/diskless)" = diskless:diskless ] || fail "/var/lib/diskless not owned by diskless"
dpkg-query -W -f='${Conffiles}\n' diskless | grep -q /etc/diskless/diskless.xml || fail "inventory is not a conffile"
[ -f /usr/share/man/man8/diskless.8.gz ] && [ -f /usr/share/man/man5/diskless.xml.5.gz ] || fail "man pages missing"
[ -f /usr/share/diskless/templates/sanboot.ipxe ] || fail "templates missing"
# --man=no: the VM has no man-db (the pages are checked as files above and with lintian).
v=$(systemd-analyze verify --man=no /lib/systemd/system/diskless.service 2>&1)
[ -z "$v" ] || { echo "$v"; fail "systemd-analyze verify is not clean"; }
say "verify clean"

# A missing inventory: one clear line in the journal, exit status 1, unit failed (no restarts).
mv /etc/diskless/diskless.xml /root/shipped.xml
systemctl start diskless && fail "started without an inventory"
journal_has err "cannot read the inventory /etc/diskless/diskless.xml: No such file or directory" ||
  fail "no clear line for a missing inventory"
[ "$(systemctl show -p ExecMainStatus --value diskless)" = 1 ] || fail "missing inventory: exit status not 1"
systemctl is-failed -q diskless || fail "unit not failed after a bad start"
say "missing inventory: $(journalctl -u diskless -p err -o cat --no-pager | grep -F 'cannot read' | tail -n1)"
systemctl reset-failed diskless

since=$(date '+%Y-%m-%d %H:%M:%S')  # the lines of the good start on
sleep 1
cat >/etc/diskless/diskless.xml <<'XML'
<?xml version="1.0"?>
<diskless version="1">
  <server interface="lo">
    <dhcp mode="proxy" ra="on"/>
    <state dir="/var/lib/diskless"/>
  </server>
  <hosts unknown="ignore">
    <host mac="52:54:00:00:00:01" name="pc1" boot="local"/>
  </hosts>
</diskless>
XML
systemctl start diskless || fail "systemctl start"
systemctl is-active -q diskless || fail "not active after start"
say "active: $(systemctl show -p StatusText --value diskless)"
systemctl show -p StatusText --value diskless | grep -q "serving 1 host(s)" || fail "STATUS= not sent"
journal_has info "serving 1 host(s)" || fail "journal lacks the start line"
journalctl -u diskless -o export --no-pager | grep -q '^SYSLOG_IDENTIFIER=diskless$' || fail "no SYSLOG_IDENTIFIER=diskless"
journalctl -u diskless -p info -o cat --no-pager | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' && fail "duplicated timestamps"
journalctl -u diskless -p info -o short-monotonic --no-pager | tail -n 5 | sed 's/^/VMTEST   /'
journalctl -u diskless -p err -o cat --no-pager --since "$since" | grep -q . &&
  fail "error lines after a good start"

sed -i 's|</hosts>|  <host mac="52:54:00:00:00:02" name="pc2" boot="local"/>\n  </hosts>|' /etc/diskless/diskless.xml
systemctl reload diskless || fail "systemctl reload"
journal_has info "SIGHUP: reloading" || fail "reload did not reach the server"
journal_has info "added host pc2" || fail "reload did not apply the edit"
for _ in $(seq 60); do systemctl show -p StatusText --value diskless | grep -q "serving 2 host(s)" && break; sleep 0.5; done
systemctl show -p StatusText --value diskless | grep -q "serving 2 host(s)" || fail "STATUS= not updated after reload"
systemctl is-active -q diskless || fail "not active after reload"
say "reloaded: $(systemctl show -p StatusText --value diskless)"

echo '<diskless version="1"><hosts><host mac="zz" name="x" boot="local"/></hosts></diskless>' >/etc/diskless/diskless.xml
systemctl reload diskless
journal_has err "keeping the last good inventory" || fail "an invalid edit is not logged at priority err"
say "invalid edit at priority err: $(journalctl -u diskless -p err -o cat --no-pager | tail -n1)"

systemd-analyze security diskless --no-pager >/root/security.txt 2>&1
exposure=$(grep 'Overall exposure level' /root/security.txt | grep -oE '[0-9]+\.[0-9]+' | head -n1)
say "exposure: $(grep 'Overall exposure level' /root/security.txt)"
awk -v e="$exposure" 'BEGIN {exit !(e != "" && e <= 3.0)}' || { grep '✗' /root/security.txt | head -n 30; fail "exposure $exposure > 3.0"; }

systemctl stop diskless || fail "systemctl stop"
[ "$(systemctl show -p Result --value diskless)" = success ] || fail "stop result: $(systemctl show -p Result --value diskless)"
journal_has info "stopped" || fail "no clean stop in the journal"
say "stopped cleanly"

dpkg --purge diskless >/root/purge.log 2>&1 || { tail -n 20 /root/purge.log; fail "purge"; }
[ ! -e /var/lib/diskless ] || fail "/var/lib/diskless left after purge"
[ ! -e /etc/diskless ] || fail "/etc/diskless left after purge"
[ ! -e /lib/systemd/system/diskless.service ] || fail "unit left after purge"
getent passwd diskless >/dev/null && fail "user diskless left after purge"
say "purged"
[ "$failed" = 0 ] && say "RESULT PASS" || say "RESULT FAIL"
GUEST
chmod +x "$tmp/data/run.sh"
mkfs.ext4 -q -L dlrun -d "$tmp/data" "$tmp/data.img" 64M
qemu-img create -q -f qcow2 -b "$vm/root.img" -F raw "$tmp/root.qcow2"

echo "== boot (QEMU, TCG) and run the service checks"
t0=$(date +%s)
timeout --kill-after=10 600 qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
  -kernel "$vm/vmlinuz" -initrd "$vm/initrd.img" \
  -append "console=ttyS0 root=/dev/vda rw quiet loglevel=3 systemd.show_status=0" \
  -drive "file=$tmp/root.qcow2,if=virtio,format=qcow2" \
  -drive "file=$tmp/data.img,if=virtio,format=raw,readonly=on" \
  -nographic -monitor none -serial "file:$tmp/serial.log" -nic none -no-reboot \
  </dev/null >"$tmp/qemu.log" 2>&1 &
qemu_pid=$!
set +e
wait "$qemu_pid"
rc=$?
set -e
qemu_pid=
echo "VM ran $(( $(date +%s) - t0 )) s (qemu status $rc)"
tr -d '\r' <"$tmp/serial.log" | grep '^VMTEST' || true
if ! grep -q '^VMTEST RESULT PASS' <(tr -d '\r' <"$tmp/serial.log"); then
  echo "---- serial console (last 60 lines) ----" >&2
  tr -d '\r\033' <"$tmp/serial.log" | tail -n 60 >&2
  fail "the service checks in the VM did not pass"
fi
echo "PASS ($(( $(date +%s) - start )) s in all)"
