#!/usr/bin/env bash
# The dashboard in a real browser (headless Chromium driven by python3-selenium): against a
# running server it shows the inventory's host, follows a simulated PC's boot live (busybox
# udhcpc with a PXE vendor class, then curl for its script and kernel: the card's phase changes
# from the event stream, without a reload), adopts an unknown PC through its form (the file gets
# the host, the grid shows it) and saves a screenshot that is checked to be a real picture.
# Usage: test_dashboard.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
source "$(dirname "$0")/lib/common.sh"
source "$DL_LIB/diskless.sh"
source "$DL_LIB/lan_client.sh"
for t in chromium chromedriver; do
  command -v $t >/dev/null || dl_fail "$t missing: run integration/deps.sh"
done
dl_init dldash
dl_net 0
dl_lan_client

PC1=52:54:00:d1:00:01 NEWPC=52:54:00:d1:00:02
cd "$DL_TMP"
mkdir -p tftp state
head -c 2000 /dev/urandom > vmlinuz
head -c 2000 /dev/urandom > initrd.img
dl_inventory inv.xml full ignore \
  '    <image name="live" kernel="vmlinuz" initrd="initrd.img" cmdline="quiet"/>' \
  "    <host mac=\"$PC1\" name=\"pc1\" image=\"live\" boot=\"linux\"/>"
sed -i 's|<state dir="state"/>|<api port="18082"/>\n    <state dir="state"/>|' inv.xml
dl_spawn diskless env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" --log-level info serve
dl_wait_port udp 67
dl_wait_port tcp 18082

# An unknown PC asks first: the page lists it with an adopt form.
dl_udhcpc "$NEWPC" "PXEClient:Arch:00000:UNDI:002001" >/dev/null || true

dl_spawn probe env HOME="$DL_TMP" /usr/bin/python3 "$DL_LIB/dashboard_probe.py" http://127.0.0.1:18082 \
  "$(cat state/api.token)" "$DL_TMP" "$NEWPC"
PROBE_PID=$DL_LAST_PID
for i in $(seq 1 600); do
  grep -q '^READY\|^FAIL' probe.log 2>/dev/null && break
  kill -0 "$PROBE_PID" 2>/dev/null || break
  sleep 0.1
done
grep -q '^READY' probe.log || dl_fail "the page did not show pc1: $(cat probe.log)"

out=$(dl_udhcpc "$PC1" "PXEClient:Arch:00000:UNDI:002001") || dl_fail "pc1 got no lease"
ip=${out%% *}
ip -n "$DL_CNS" addr add "$ip/24" dev eth0
ip netns exec "$DL_CNS" curl -sf -o /dev/null "http://$DL_SERVER:8080/boot/52-54-00-d1-00-01.ipxe"
ip netns exec "$DL_CNS" curl -sf -o /dev/null "http://$DL_SERVER:8080/images/live/vmlinuz"
touch booted

wait "$PROBE_PID" || dl_fail "the browser check failed: $(cat probe.log)"
cat probe.log >&2
grep -q '^READY off' probe.log || dl_fail "pc1 was not 'off' before its boot"
grep -q '^PHASE \(script\|kernel\)' probe.log || dl_fail "no live phase change"
grep -q "mac=\"$NEWPC\" name=\"adopted\"" inv.xml || dl_fail "the adopted host is not in the file"
python3 - dashboard.png <<'PY' || dl_fail "the screenshot is trivial"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
w, h = struct.unpack(">II", data[16:24])
assert w >= 800 and h >= 600, (w, h)
# A blank or one-colour picture compresses to almost nothing and has a handful of byte values.
idat, pos = b"", 8
while pos + 8 <= len(data):
    n = struct.unpack(">I", data[pos:pos + 4])[0]
    if data[pos + 4:pos + 8] == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw)) > 40, len(set(raw))
assert len(idat) > 8000, len(idat)
PY
# Kept for a person to look at (the test's own directory is removed on exit).
cp dashboard.png "${DISKLESS_BUILD_DIR:-/tmp}/test_dashboard.png"
echo "PASS: the dashboard shows hosts, follows a boot live, adopts an unknown PC; screenshot saved"
