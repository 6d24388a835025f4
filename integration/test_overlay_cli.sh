#!/usr/bin/env bash
# `diskless overlay list | reset | commit` against overlays made by QEMU's own tools, with the
# "host logged in" / "image in use" states simulated by the same flocks `serve` holds.
# Usage: test_overlay_cli.sh path/to/diskless   (needs qemu-utils and util-linux flock)
set -euo pipefail
bin=$(realpath "$1")
work=$(mktemp -d /tmp/dl-overlay-cli.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

head -c $((8 << 20)) /dev/urandom >gold.img
cp gold.img gold.orig
cat >diskless.xml <<EOF
<diskless version="1">
  <server address="127.0.0.1"><dhcp mode="off"/><state dir="state"/></server>
  <images><image name="gold" disk="gold.img"/></images>
  <hosts>
    <host mac="52:54:00:07:00:01" name="lab-01" image="gold" boot="sanboot" overlay="persistent"/>
    <host mac="52:54:00:07:00:02" name="lab-02" image="gold" boot="sanboot" overlay="volatile"/>
    <host mac="52:54:00:07:00:03" name="lab-03" image="gold" boot="sanboot" overlay="readonly"/>
  </hosts>
</diskless>
EOF
dl() { "$bin" -c diskless.xml overlay "$@"; }
# A process holding flock(2) on a file (killing it releases the lock: no forked child keeps it).
hold_lock() { ( exec 9<"$2"; flock "$1" 9; exec sleep 60 ) & }

out=$(dl list)
echo "$out"
echo "$out" | grep -q '^lab-01 .*persistent.*no overlay yet' || fail "list before overlays"
echo "$out" | grep -q '^lab-03 .*readonly' || fail "list readonly host"

# An overlay as serve would name it, made and written by QEMU.
mkdir -p state/overlays
qemu-img create -q -f qcow2 -b "$work/gold.img" -F raw state/overlays/52-54-00-07-00-01.qcow2
qemu-io -f qcow2 -c 'write -P 0x11 0 64k' -c 'write -P 0x22 1000k 3000k' -c 'write -z 6M 128k' \
  state/overlays/52-54-00-07-00-01.qcow2 >/dev/null
out=$(dl list)
echo "$out"
echo "$out" | grep -Eq '^lab-01 .*persistent .* (3[0-9]|4[0-9])\.[0-9]% +idle' ||
  fail "list: lab-01 allocation/idle"

# Host logged in (serve holds an exclusive flock on its overlay): reset and commit refused.
hold_lock -x state/overlays/52-54-00-07-00-01.qcow2
pids+=($!)
sleep 0.5
dl list | grep -q '^lab-01 .*logged in' || fail "list: logged in"
if dl reset lab-01 2>err; then fail "reset of a logged-in host succeeded"; fi
grep -q "logged in" err || fail "reset refusal message: $(cat err)"
if dl commit lab-01 2>err; then fail "commit of a logged-in host succeeded"; fi
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# Another host uses the image (serve holds a shared flock on it): commit refused.
hold_lock -s gold.img
pids+=($!)
sleep 0.5
if dl commit lab-01 2>err; then fail "commit while the image is in use succeeded"; fi
grep -q "in use" err || fail "commit refusal message: $(cat err)"
cmp -s gold.img gold.orig || fail "refused commit changed the image"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

# Commit: the image becomes what the host saw; the overlay is gone.
qemu-img convert -O raw state/overlays/52-54-00-07-00-01.qcow2 expected.raw
dl commit lab-01 || fail "commit"
cmp gold.img expected.raw || fail "committed image differs from the overlay's view"
[ ! -e state/overlays/52-54-00-07-00-01.qcow2 ] || fail "overlay kept after commit"

# Reset: the volatile host's overlay is removed.
qemu-img create -q -f qcow2 -b "$work/gold.img" -F raw state/overlays/52-54-00-07-00-02.qcow2
dl reset lab-02 || fail "reset"
[ ! -e state/overlays/52-54-00-07-00-02.qcow2 ] || fail "overlay kept after reset"
dl reset lab-02 | grep -q "nothing to reset" || fail "second reset"

# Usage errors.
if dl reset lab-03 2>err; then fail "reset of a readonly host succeeded"; fi
grep -q 'overlay="readonly"' err || fail "readonly message: $(cat err)"
if dl reset nosuch 2>/dev/null; then fail "reset of an unknown host succeeded"; fi
set +e
dl frobnicate 2>/dev/null; [ $? -eq 2 ] || fail "unknown subcommand exit code"
set -e
echo "PASS test_overlay_cli"
