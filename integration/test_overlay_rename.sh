#!/usr/bin/env bash
# Overlays follow their host (named by MAC, src/disks/README.md), with a running server:
#   - lab-03 (persistent) writes over iSCSI (libiscsi through qemu-io) and flushes; the admin
#     renames it (`host set lab-03 --name lab-33`) while `serve` runs (it reloads); logging in as
#     lab-33 reads the data back;
#   - an overlay under its legacy name (<host>.qcow2) moves to the MAC name once;
#   - the overlay of a removed host is an orphan: `overlay list` marks it, `overlay remove`
#     refuses a file a host owns (without --owned) and one in use, and deletes the orphan.
# Usage: test_overlay_rename.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/diskless.sh"
dl_init dlren
dl_lo
x="ip netns exec $DL_NS"
S=127.0.0.1
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
head -c $((16 << 20)) /dev/urandom >gold.img
cat >diskless.xml <<XML
<diskless version="1">
$(dl_iscsi_server "$S" off)
  <images><image name="gold" disk="gold.img"/></images>
  <hosts>
    <host mac="52:54:00:07:03:03" name="lab-03" image="gold" boot="sanboot" overlay="persistent"/>
    <host mac="52:54:00:07:03:04" name="lab-04" image="gold" boot="sanboot" overlay="persistent"/>
  </hosts>
</diskless>
XML
fail() { echo "--- server log" >&2; tail -30 diskless.log >&2; dl_fail "$*"; }
dl() { "$bin" -c diskless.xml "$@"; }
qio() { dl_qio "$S" "$@" 2>&1; }
verify() { dl_qio_verify "$S" "$@"; }
dl_spawn diskless "$bin" -c diskless.xml serve
for i in $(seq 1 100); do
  $x bash -c "echo > /dev/tcp/$S/3260" 2>/dev/null && break
  sleep 0.1
done

dl_log "lab-03 writes, is renamed to lab-33 while serving, and finds its data"
verify lab-03 -c "write -P 0x33 1m 64k" -c flush || fail "lab-03 write"
verify lab-04 -c "write -P 0x44 2m 4k" -c flush || fail "lab-04 write"
[ -f state/overlays/52-54-00-07-03-03.qcow2 ] || fail "lab-03's overlay is not named by its MAC"
dl host set lab-03 --name lab-33 || fail "host set --name"
for i in $(seq 1 100); do grep -q "host lab-33" diskless.log && break; sleep 0.1; done
grep -q "host lab-33" diskless.log || fail "serve did not reload the rename"
verify lab-33 -c "read -P 0x33 1m 64k" || fail "renamed host lost its disk"
verify lab-33 -c "read -P 0x33 1m 64k" -c "write -P 0x35 3m 4k" -c flush || fail "lab-33 write"

dl_log "a legacy overlay (named after its host) moves to its MAC name once"
mv state/overlays/52-54-00-07-03-04.qcow2 state/overlays/lab-04.qcow2
verify lab-04 -c "read -P 0x44 2m 4k" || fail "legacy overlay not picked up"
[ -f state/overlays/52-54-00-07-03-04.qcow2 ] && [ ! -e state/overlays/lab-04.qcow2 ] ||
  fail "legacy overlay not renamed to the MAC name"
grep -q "lab-04.qcow2 renamed to 52-54-00-07-03-04.qcow2" diskless.log || fail "migration not logged"

dl_log "orphans: listed, removable; owned and in-use files refused"
dl host remove lab-04 || fail "host remove"
out=$(dl overlay list)
echo "$out"
echo "$out" | grep -q '^lab-33 .*persistent' || fail "list: lab-33"
echo "$out" | grep -q '^52-54-00-07-03-04 .*orphan' || fail "list: the removed host's overlay is not an orphan"
if dl overlay remove lab-33 2>err.txt; then fail "remove of a host's own overlay"; fi
grep -q "is the overlay of host lab-33" err.txt || fail "owned refusal: $(cat err.txt)"
( exec 9<state/overlays/52-54-00-07-03-04.qcow2; flock -x 9; exec sleep 60 ) &
holder=$!
DL_PIDS+=($holder)
sleep 0.3
if dl overlay remove 52-54-00-07-03-04.qcow2 2>err.txt; then fail "remove of a file in use"; fi
grep -q "in use" err.txt || fail "in-use refusal: $(cat err.txt)"
dl_kill "$holder"
dl overlay remove 52-54-00-07-03-04.qcow2 || fail "remove of an orphan"
[ ! -e state/overlays/52-54-00-07-03-04.qcow2 ] || fail "orphan still there"
dl overlay list | grep -q orphan && fail "list still shows an orphan"
[ -f state/overlays/52-54-00-07-03-03.qcow2 ] || fail "lab-33's overlay was touched"
echo PASS
