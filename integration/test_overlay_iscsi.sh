#!/usr/bin/env bash
# Per-host qcow2 overlays over iSCSI (src/disks/README.md), with qemu-io / qemu-img as initiators:
#   persistent: writes kept across logins and a server restart; golden image untouched
#   volatile:   writes kept across logins (another initiator of the same boot, a reconnect, a
#               server restart), gone at the first login after the host's boot script was
#               fetched (over TFTP or HTTP, by the host's own PC: a new boot); a fetch while
#               the host runs ends nothing: its live session reads back its SYNC-CACHEd write
#   readonly:   writes refused; none: writes reach the image
#   overlay reset refused while logged in; --force with a libiscsi client that stays connected
#               (and reconnects at once): its session ends, the server recreates the overlay,
#               the client goes on over the fresh overlay
#   crash: SIGKILL of the server during a write+SYNC workload, restart: every write acknowledged
#          before a completed SYNCHRONIZE CACHE is there and `qemu-img check` finds no errors
# Usage: test_overlay_iscsi.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/diskless.sh"
. "$(dirname "$0")/lib/lan_client.sh"
dl_init dlovl
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
# The volatile host's own PC: only it may fetch its boot script.
dl_lan_pc 52:54:00:07:01:02 10.77.0.52
pc="ip netns exec $DL_CNS"
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
mkdir images state
head -c $((64 << 20)) /dev/urandom >images/gold.img
cp images/gold.img gold.orig
head -c $((8 << 20)) /dev/urandom >images/own.img
cat >diskless.xml <<XML
<diskless version="1">
$(dl_iscsi_server "$S" 8080)
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
  dl_wait_port tcp 3260
}
opts() { dl_iscsi_opts "$S" "$1"; }
qio() { dl_qio "$S" "$@"; }
verify() { dl_qio_verify "$S" "$@"; }
ovl() { "$bin" -c diskless.xml overlay "$@"; }

start_server

dl_log "persistent: a write is kept across logins"
qio pers -c "write -P 0xa1 1000k 100k" -c "write -P 0xa2 3m 4k" -c flush >/dev/null
verify pers -c "read -P 0xa1 1000k 100k" -c "read -P 0xa2 3m 4k" || fail "persistent data lost"
cmp -s images/gold.img gold.orig || fail "golden image modified"
[ -f state/overlays/52-54-00-07-01-01.qcow2 ] || fail "no overlay file"

dl_log "volatile: kept across logins of one boot, gone after the boot script is fetched"
verify vol -c "write -P 0xb1 2m 64k" -c "read -P 0xb1 2m 64k" || fail "volatile write not visible"
verify vol -c "read -P 0xb1 2m 64k" || fail "volatile write lost at a login of the same boot"
$pc curl -sf -o /dev/null tftp://$S:6969/boot/52-54-00-07-01-02.ipxe || fail "tftp script fetch"
verify vol -c "read -P 0xb1 2m 64k" && fail "volatile write survived a new boot (TFTP script fetch)"
out=$($x qemu-img convert -O raw --image-opts "$(opts vol)" vol.raw 2>&1) || fail "read vol: $out"
cmp -s vol.raw gold.orig || fail "fresh volatile disk differs from the golden image"
verify vol -c "write -P 0xb2 2m 64k" -c flush || fail "volatile write"
$pc curl -sfI -o /dev/null http://$S:8080/boot/52-54-00-07-01-02.ipxe || fail "http HEAD"
verify vol -c "read -P 0xb2 2m 64k" || fail "a HEAD request of the script counted as a new boot"
$pc curl -sf -o /dev/null http://$S:8080/boot/52-54-00-07-01-02.ipxe || fail "http script fetch"
verify vol -c "read -P 0xb2 2m 64k" && fail "volatile write survived a new boot (HTTP script fetch)"
verify vol -c "write -P 0xb3 2m 64k" -c flush || fail "volatile write"
dl_kill "$server_pid"
start_server
verify vol -c "read -P 0xb3 2m 64k" || fail "volatile overlay wiped by a reconnect after a server restart"

dl_log "readonly: writes refused; none: writes reach the image"
if qio ro -c "write -P 0xc1 0 4k" 2>&1 | grep -q "^wrote"; then fail "readonly host wrote"; fi
cmp -s images/gold.img gold.orig || fail "golden image modified by readonly host"
qio own -c "write -P 0xd1 0 4k" -c flush >/dev/null
cmp -s <(head -c 4096 images/own.img) <(head -c 4096 /dev/zero | tr '\0' '\321') ||
  fail "overlay=none write did not reach the image"

dl_log "overlay list, reset refused while logged in, --force with a client that stays connected"
ovl list | tee list.txt
grep -q "^pers .*persistent.*idle" list.txt || fail "list: pers"
# The client reads its commands from a FIFO, one at a time: each runs when the test says so.
mkfifo client.cmds
$x stdbuf -oL qemu-io --image-opts "$(opts pers)" <client.cmds >client.out 2>&1 &
client=$!  # ip netns exec execs qemu-io: this is its pid
DL_PIDS+=($client)
exec 7>client.cmds
prompts() { grep -o "qemu-io> " client.out | wc -l; }
send() { # waits for the prompt that follows the command's output
  local n i
  n=$(prompts)
  echo "$1" >&7
  for i in $(seq 1 600); do [ "$(prompts)" -gt "$n" ] && return 0; sleep 0.1; done
  fail "client stuck at '$1': $(cat client.out)"
}
for i in $(seq 1 300); do [ "$(prompts)" -ge 1 ] && break; sleep 0.1; done
send "write -P 0xe1 5m 4k"
send "read -P 0xe1 5m 4k"
grep -q "read 4096/4096" client.out || fail "client: $(cat client.out)"
ovl list | grep -q "^pers .*logged in" || fail "list: pers not logged in"
if ovl reset pers 2>err.txt; then fail "reset of a logged-in host"; fi
grep -q "use --force" err.txt || fail "reset refusal message: $(cat err.txt)"
ovl reset --force pers || fail "reset --force"
for i in $(seq 1 100); do grep -q "ended by its disk" diskless.log && break; sleep 0.1; done
grep -q "ended by its disk" diskless.log || fail "the server did not end the session"
# The same client goes on (libiscsi reconnects) and sees the fresh overlay.
send "read -P 0xe1 5m 4k"
send "write -P 0xe2 6m 4k"
send "read -P 0xe2 6m 4k"
exec 7>&-
wait "$client" || true
cat client.out
[ "$(grep -c "Pattern verification failed" client.out)" -eq 1 ] ||
  fail "client after reset: the old write should be gone, the new one readable"
[ "$(grep -c "read 4096/4096" client.out)" -eq 3 ] || fail "client I/O after reconnect failed"
! grep -qi "error\|I/O" client.out || fail "client got errors after the reset"
qemu-img check state/overlays/52-54-00-07-01-01.qcow2 >/dev/null || fail "recreated overlay not clean"
verify pers -c "read -P 0xe2 6m 4k" || fail "write after the reset lost"
verify pers -c "read -P 0xa1 1000k 100k" && fail "reset overlay still has old data"
verify pers -c "read -P 0xe1 5m 4k" && fail "reset overlay still has the client's old write"

dl_log "volatile: a script fetch never wipes a running host; its next boot's login does"
# The running OS: one libiscsi session that stays connected, driven through a FIFO like above.
mkfifo vol.cmds
$x stdbuf -oL qemu-io --image-opts "$(opts vol)" <vol.cmds >vol.out 2>&1 &
vclient=$!
DL_PIDS+=($vclient)
exec 8>vol.cmds
vprompts() { grep -o "qemu-io> " vol.out | wc -l; }
vsend() {
  local n i
  n=$(vprompts)
  echo "$1" >&8
  for i in $(seq 1 600); do [ "$(vprompts)" -gt "$n" ] && return 0; sleep 0.1; done
  fail "volatile client stuck at '$1': $(cat vol.out)"
}
for i in $(seq 1 300); do [ "$(vprompts)" -ge 1 ] && break; sleep 0.1; done
vsend "write -P 0xf1 7m 4k"
vsend "flush"  # SYNCHRONIZE CACHE
# Someone fetches the host's script (here its own PC: nobody else may), over HTTP and TFTP.
$pc curl -sf -o /dev/null http://$S:8080/boot/52-54-00-07-01-02.ipxe || fail "http script fetch"
$pc curl -sf -o /dev/null tftp://$S:6969/boot/52-54-00-07-01-02.ipxe || fail "tftp script fetch"
sleep 1  # room for a wrong reaction (sessions ended, device revoked) to show
vsend "read -P 0xf1 7m 4k"
vsend "write -P 0xf2 7m 4k"
vsend "read -P 0xf2 7m 4k"
exec 8>&-
wait "$vclient" || true
cat vol.out
[ "$(grep -c "read 4096/4096" vol.out)" -eq 2 ] || fail "running volatile host lost I/O after a fetch"
! grep -qi "fail\|error\|I/O" vol.out || fail "running volatile host: its write read back wrong"
grep -q "new boot of the host began" diskless.log && fail "a script fetch ended a live session"
# The pending new boot starts at the next login that is not a reinstatement: afresh.
verify vol -c "read -P 0xf2 7m 4k" && fail "the login after the fetch kept the previous boot's data"
out=$($x qemu-img convert -O raw --image-opts "$(opts vol)" vol2.raw 2>&1) || fail "read vol: $out"
cmp -s vol2.raw gold.orig || fail "the new boot's overlay is not the golden image"

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
out=$(qemu-img check state/overlays/52-54-00-07-01-01.qcow2 2>&1) && rc=0 || rc=$?
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
