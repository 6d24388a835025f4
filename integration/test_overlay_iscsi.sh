#!/usr/bin/env bash
# Per-host qcow2 overlays over iSCSI (issue 7), with qemu-io / qemu-img as initiators:
#   persistent: writes kept across logins and a server restart; golden image untouched
#   volatile:   writes visible within the session, gone at the next login
#   readonly:   writes refused; none: writes reach the image
#   overlay reset refused while logged in; --force revokes the live session's overlay
#   crash: SIGKILL of the server during a write+SYNC workload, restart: every write acknowledged
#          before a completed SYNCHRONIZE CACHE is there and `qemu-img check` finds no errors
# Usage: test_overlay_iscsi.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dlovl
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
mkdir images state
head -c $((64 << 20)) /dev/urandom >images/gold.img
cp images/gold.img gold.orig
head -c $((8 << 20)) /dev/urandom >images/own.img
cat >diskless.xml <<XML
<diskless version="1">
  <server address="$S">
    <dhcp mode="off"/>
    <iscsi port="3260" iqn="$IQN"/>
    <http enabled="false"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="gold" disk="images/gold.img"/>
    <image name="own" disk="images/own.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:07:01:01" name="pers" image="gold" boot="sanboot" overlay="persistent"/>
    <host mac="52:54:00:07:01:02" name="vol" image="gold" boot="sanboot" overlay="volatile"/>
    <host mac="52:54:00:07:01:03" name="ro" image="gold" boot="sanboot" overlay="readonly"/>
    <host mac="52:54:00:07:01:04" name="own" image="own" boot="sanboot" overlay="none"/>
  </hosts>
</diskless>
XML
fail() { dl_fail "$*"; }
server_pid=
start_server() {
  dl_spawn diskless "$bin" -c diskless.xml --log-level debug serve
  server_pid=$DL_LAST_PID
  for i in $(seq 1 100); do
    $x bash -c "echo > /dev/tcp/$S/3260" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "server did not start"
}
opts() { echo "driver=iscsi,transport=tcp,portal=$S:3260,lun=0,initiator-name=$IQN:initiator:$1,target=$IQN:$1"; }
qio() { local h=$1; shift; $x qemu-io --image-opts "$(opts "$h")" "$@"; }
# qemu-io prints "Pattern verification failed" and still exits 0: check its output.
verify() { local h=$1; shift; local out; out=$(qio "$h" "$@" 2>&1); ! grep -qi "fail\|error" <<<"$out"; }
ovl() { "$bin" -c diskless.xml overlay "$@"; }

start_server

dl_log "persistent: a write is kept across logins"
qio pers -c "write -P 0xa1 1000k 100k" -c "write -P 0xa2 3m 4k" -c flush >/dev/null
verify pers -c "read -P 0xa1 1000k 100k" -c "read -P 0xa2 3m 4k" || fail "persistent data lost"
cmp -s images/gold.img gold.orig || fail "golden image modified"
[ -f state/overlays/pers.qcow2 ] || fail "no overlay file"

dl_log "volatile: visible within the session, gone at the next login"
verify vol -c "write -P 0xb1 2m 64k" -c "read -P 0xb1 2m 64k" || fail "volatile write not visible"
verify vol -c "read -P 0xb1 2m 64k" && fail "volatile write survived a new login"
out=$($x qemu-img convert -O raw --image-opts "$(opts vol)" vol.raw 2>&1) || fail "read vol: $out"
cmp -s vol.raw gold.orig || fail "fresh volatile disk differs from the golden image"

dl_log "readonly: writes refused; none: writes reach the image"
if qio ro -c "write -P 0xc1 0 4k" 2>&1 | grep -q "^wrote"; then fail "readonly host wrote"; fi
cmp -s images/gold.img gold.orig || fail "golden image modified by readonly host"
qio own -c "write -P 0xd1 0 4k" -c flush >/dev/null
cmp -s <(head -c 4096 images/own.img) <(head -c 4096 /dev/zero | tr '\0' '\321') ||
  fail "overlay=none write did not reach the image"

dl_log "overlay list, reset refused while logged in, --force revokes"
ovl list | tee list.txt
grep -q "^pers .*persistent.*idle" list.txt || fail "list: pers"
$x qemu-io --image-opts "$(opts pers)" -c "write -P 0xe1 5m 4k" -c "sleep 30000" >/dev/null 2>&1 &
sess=$!  # ip netns exec execs qemu-io: this is its pid
DL_PIDS+=($sess)
for i in $(seq 1 50); do ovl list | grep -q "^pers .*logged in" && break; sleep 0.2; done
ovl list | grep -q "^pers .*logged in" || fail "list: pers not logged in"
if ovl reset pers 2>err.txt; then fail "reset of a logged-in host"; fi
ovl reset --force pers || fail "reset --force"
[ ! -e state/overlays/pers.qcow2 ] || fail "overlay kept after reset"
dl_kill "$sess"
sleep 1  # the server sees the connection close; the next login opens a fresh overlay
verify pers -c "read -P 0xa1 1000k 100k" && fail "reset overlay still has old data"

dl_log "crash: SIGKILL during writes + SYNCHRONIZE CACHE, restart, acknowledged data present"
# Write i goes to its own region (i * 192 KiB + a sector offset, 4..80 KiB, often crossing a
# 64 KiB cluster boundary), then a flush, then a 512-byte read whose "read 512/512" line proves
# that the flush before it completed.
: >cmds
for i in $(seq 1 300); do
  off=$((i * 196608 + (RANDOM % 200) * 512))
  len=$((4096 + (RANDOM % 20) * 4096))
  echo "$off $len $((i % 250 + 1))" >>plan.txt
  printf 'write -P %d %d %d\nflush\nread 0 512\n' $((i % 250 + 1)) "$off" "$len" >>cmds
done
$x stdbuf -oL qemu-io --image-opts "$(opts pers)" <cmds >crash.out 2>&1 &
writer=$!
DL_PIDS+=($writer)
for i in $(seq 1 300); do
  [ "$(grep -c 'read 512/512' crash.out || true)" -ge 60 ] && break
  sleep 0.1
done
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
dl_kill "$writer"
acked=$(grep -c 'read 512/512' crash.out || true)
dl_log "$acked writes acknowledged after a completed SYNCHRONIZE CACHE when the server was killed"
[ "$acked" -ge 10 ] || fail "workload did not run: $(tail -5 crash.out)"
out=$(qemu-img check state/overlays/pers.qcow2 2>&1) && rc=0 || rc=$?
echo "$out"
{ [ $rc -eq 0 ] || [ $rc -eq 3 ]; } || fail "qemu-img check rc $rc after SIGKILL"
! grep -q ERROR <<<"$out" || fail "qemu-img check found errors"
start_server
$x qemu-img convert -O raw --image-opts "$(opts pers)" after.raw
n=0
while read -r off len pat; do
  n=$((n + 1))
  [ $n -le "$acked" ] || break
  want=$(printf '%02x' "$pat")
  got=$(dd if=after.raw bs=512 skip=$((off / 512)) count=$((len / 512)) status=none | od -An -tx1 -v |
    tr -s ' \n' '\n' | grep -v "^$" | sort -u | tr '\n' ' ')
  [ "$got" = "$want " ] || fail "acknowledged write $n (offset $off, $len bytes) lost: got '$got'"
done <plan.txt
cmp -s images/gold.img gold.orig || fail "golden image modified"
dl_log "PASS ($acked acknowledged writes verified after SIGKILL + restart)"
