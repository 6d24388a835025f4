#!/usr/bin/env bash
# Foundation: `diskless check` on good and broken inventories, `diskless host` edits picked up by a
# running `serve` (inotify), an invalid file leaving the last good inventory in force, SIGHUP
# reload and a clean SIGTERM stop. The server runs inside a network namespace of its own.
set -euo pipefail
bin=$(realpath "$1")
src=$(pwd)
tmp=$(mktemp -d /tmp/dl-found.XXXXXX)
ns=dlfound$$
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- server log:" >&2; cat "$tmp/serve.log" >&2 || true; exit 1; }
# Waits up to 15 s for a line matching $1 in the server log.
wait_log() {
  for _ in $(seq 150); do grep -q -- "$1" "$tmp/serve.log" && return 0; sleep 0.1; done
  fail "server log never showed: $1"
}

echo "== check: the shipped config and good/broken inventories"
"$bin" check config/diskless.xml || fail "shipped config/diskless.xml does not validate"
for f in broken-structure broken-values broken-markup; do
  if "$bin" check "src/inventory/testdata/$f.xml" > "$tmp/$f.out" 2>&1; then
    fail "check accepted $f.xml"
  fi
done
grep -q "broken-structure.xml:2: <server> has no attribute 'adress'; did you mean 'address'?" "$tmp/broken-structure.out" || fail "no did-you-mean for adress"
grep -q "broken-structure.xml:4: <tftpd> is not allowed inside <server>; did you mean 'tftp'?" "$tmp/broken-structure.out" || fail "unknown element not reported"
grep -q "broken-values.xml:12: mac=" "$tmp/broken-values.out" || fail "bad MAC not reported at line 12"
grep -q "broken-values.xml:18: ip 10.0.0.150 of host 'pc7' is inside the dynamic range" "$tmp/broken-values.out" || fail "static IP in range not reported"
grep -q "broken-values.xml: 15 error(s)" "$tmp/broken-values.out" || { cat "$tmp/broken-values.out"; fail "not every problem of broken-values.xml reported"; }
grep -q "broken-markup.xml:6: malformed XML" "$tmp/broken-markup.out" || fail "malformed XML line"

echo "== check: the image files' contents (a hostile qcow2, a raw file of partial blocks)"
mkdir -p "$tmp/imgcheck"
qemu-img create -q -f qcow2 "$tmp/imgcheck/bad.qcow2" 16M
# Header bytes 40..47: l1_table_offset (qcow2 spec). 0 points the L1 table at the header itself.
printf '\x00\x00\x00\x00\x00\x00\x00\x00' | dd of="$tmp/imgcheck/bad.qcow2" bs=1 seek=40 conv=notrunc status=none
head -c 1000 /dev/zero > "$tmp/imgcheck/odd.img"
qemu-img create -q -f qcow2 "$tmp/imgcheck/good.qcow2" 16M
cat > "$tmp/imgcheck/diskless.xml" <<'XML'
<diskless version="1">
  <server address="127.0.0.1"><dhcp mode="off"/><http enabled="false"/></server>
  <images>
    <image name="bad" disk="bad.qcow2"/>
    <image name="odd" disk="odd.img"/>
    <image name="good" disk="good.qcow2"/>
  </images>
  <hosts unknown="ignore"/>
</diskless>
XML
if "$bin" check "$tmp/imgcheck/diskless.xml" > "$tmp/imgcheck.out" 2>&1; then
  cat "$tmp/imgcheck.out"; fail "check accepted a corrupt qcow2 image"
fi
grep -q "diskless.xml:4: image 'bad': .*bad.qcow2" "$tmp/imgcheck.out" || { cat "$tmp/imgcheck.out"; fail "corrupt qcow2 not reported at its line"; }
grep -q "diskless.xml:5: .*image 'odd': .*odd.img" "$tmp/imgcheck.out" || { cat "$tmp/imgcheck.out"; fail "partial-block raw file not reported at its line"; }
if grep -q "image 'good'" "$tmp/imgcheck.out"; then cat "$tmp/imgcheck.out"; fail "a sound qcow2 was reported"; fi

echo "== serve picks up edits made by another process"
mkdir -p "$tmp/config" "$tmp/images"
head -c 1048576 /dev/zero > "$tmp/images/disk.img"
cat > "$tmp/config/diskless.xml" <<'XML'
<diskless version="1">
  <server address="127.0.0.1">
    <dhcp mode="off"/>
    <tftp port="6969"/>
    <iscsi port="13260"/>
    <http enabled="false"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="disk" disk="../images/disk.img"/>
  </images>
  <hosts unknown="ignore">
    <host mac="52:54:00:aa:00:01" name="pc1" image="disk" boot="sanboot" overlay="persistent"/>
  </hosts>
</diskless>
XML
ip netns add "$ns"
ip -n "$ns" link set lo up
cd "$tmp"
ip netns exec "$ns" "$bin" serve > serve.log 2>&1 &
pid=$!
wait_log "serving 1 host(s)"

"$bin" host add 52:54:00:AA:00:02 --name pc2 --image disk --boot sanboot --overlay readonly \
  || fail "host add refused"
wait_log "added host pc2"
"$bin" host set pc2 --boot local --unset image --unset overlay || fail "host set refused"
wait_log "changed host pc2"
grep -q 'name="pc2" boot="local"/>' config/diskless.xml || fail "edit not written as expected"

echo "== two editors at once do not lose an edit (flock on the inventory)"
pids=()
for i in $(seq 10 29); do
  "$bin" host add "52:54:00:bb:00:$i" --name "par-$i" --boot local >/dev/null & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel host add failed"; done
[ "$("$bin" host list | grep -c ' par-')" = 20 ] || fail "parallel edits lost: $("$bin" host list)"
for i in $(seq 10 29); do "$bin" host remove "par-$i" >/dev/null; done

echo "== an edit that would make the file invalid is refused and leaves it untouched"
cp config/diskless.xml before.xml
if "$bin" host add 52:54:00:aa:00:03 --name pc3 --image nope --boot sanboot 2> refused.txt; then
  fail "invalid host add accepted"
fi
grep -q "image 'nope', which is not defined" refused.txt || fail "refusal does not say why"
cmp -s before.xml config/diskless.xml || fail "refused edit changed the file"

echo "== an invalid file keeps the last good inventory"
printf '<diskless version="1"><hosts><host mac="zz" name="x" boot="local"/></hosts></diskless>\n' > config/diskless.xml.tmp
mv config/diskless.xml.tmp config/diskless.xml
wait_log "keeping the last good inventory"
kill -0 "$pid" || fail "server died on an invalid inventory"
grep -q 'config/diskless.xml:1: mac="zz" is not a MAC address' serve.log || fail "FILE:LINE not logged"

echo "== SIGHUP reloads; SIGTERM stops cleanly"
cp before.xml config/diskless.xml
"$bin" host remove pc2 >/dev/null
sleep 0.5
kill -HUP "$pid"
wait_log "removed host pc2"
kill -TERM "$pid"
wait "$pid" || fail "serve exited non-zero on SIGTERM"
pid=
grep -q "stopped" serve.log || fail "no clean stop"
[ ! -e state/diskless.pid ] || fail "pid file left behind"
cd "$src"
echo "PASS"
