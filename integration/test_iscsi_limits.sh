#!/usr/bin/env bash
# What one client on the boot LAN can make the iSCSI target hold, against the real binary in a
# network namespace (raw sockets from integration/iscsi/flood.py, libiscsi's iscsi-inq):
#  1. 8 sessions with DataDigest=CRC32C pipelining 1 MiB READs (CmdSN ignoring MaxCmdSN) and
#     never reading their socket: the server's RSS grows by less than 300 MiB and iscsi-inq
#     still works meanwhile;
#  2. 1000 idle connections (never log in) and 1000 discovery sessions: RSS grows by less than
#     100 MiB each time, login-timeout / discovery-timeout close them all, iscsi-inq still works;
#  3. wrong CHAP responses from one address: after auth-failures the address is refused
#     (connections closed before any login answer); the right secret from another address works.
# Memory is asserted as RSS bounds; the waits have generous limits, nothing asserts a duration.
# Usage: test_iscsi_limits.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dllim
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
EVIL=${S%.*}.77
$x ip addr add "$EVIL/24" dev br0
IQN=iqn.2026-11.lan.diskless
here=$DL_ROOT/integration
cd "$DL_TMP"
mkdir images state
truncate -s 64M images/a.img images/b.img

cat > diskless.xml <<XML
<diskless version="1">
  <server address="$S">
    <dhcp mode="off"/>
    <iscsi port="3260" iqn="$IQN" max-connections="1100" max-connections-per-address="1100"
           login-timeout="3s" discovery-timeout="3s" auth-failures="5"/>
    <http enabled="false"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="a" disk="images/a.img"/>
    <image name="b" disk="images/b.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1" image="a" boot="sanboot"/>
    <host mac="52:54:00:00:00:02" name="pc2" image="b" boot="sanboot"
          chap-user="user2" chap-secret="secret2-abcdef"/>
  </hosts>
</diskless>
XML
dl_spawn diskless "$bin" -c diskless.xml serve
pid=$DL_LAST_PID
dl_wait_port tcp 3260
log=$DL_TMP/diskless.log
fail() { dl_fail "$*"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
I1=$IQN:initiator:pc1
I2=$IQN:initiator:pc2
inq_ok() {
  $x timeout 60 iscsi-inq -i "$I2" "iscsi://user2%secret2-abcdef@$S/$IQN:pc2/0" > inq.txt 2>&1 &&
    grep -qi "DIRECT_ACCESS" inq.txt
}
# flood_while MAXKB LABEL ARGS...: runs flood.py, samples RSS while it holds, checks iscsi-inq.
flood_while() {
  local max=$1 label=$2 base peak=0 r i
  shift 2
  base=$(rss_kb)
  $x /usr/bin/python3 "$here/iscsi/flood.py" "$@" > "$label.txt" 2>&1 &
  local fp=$!
  for i in $(seq 1 600); do
    grep -q "^open=\|^sessions=" "$label.txt" && break
    kill -0 "$fp" 2>/dev/null || break
    sleep 0.1
  done
  for i in $(seq 1 10); do
    r=$(rss_kb)
    [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.3
  done
  inq_ok || fail "$label: iscsi-inq failed meanwhile: $(cat inq.txt)"
  wait "$fp" || fail "$label: flood.py: $(cat "$label.txt")"
  dl_log "$label: $(tr '\n' ' ' < "$label.txt") RSS ${base} kB -> peak ${peak} kB (bound +${max} kB)"
  [ $((peak - base)) -lt "$max" ] || fail "$label: RSS grew by $((peak - base)) kB"
}

dl_log "1. 8 sessions pipelining 1 MiB READs with DataDigest, never reading"
flood_while $((300 * 1024)) readers reader "$S" 8 2000 "$I1" "$IQN:pc1" 4
grep -q "^sessions=8 " readers.txt || fail "readers did not log in: $(cat readers.txt)"

dl_log "2a. 1000 idle connections"
flood_while $((100 * 1024)) idle idle "$S" 1000 20
grep -q "^open=1000" idle.txt || fail "idle: $(cat idle.txt)"
grep -q "^closed_by_server=1000" idle.txt || fail "idle connections not closed: $(cat idle.txt)"

dl_log "2b. 1000 discovery sessions"
flood_while $((100 * 1024)) discovery discovery "$S" 1000 20
grep -q "^open=1000" discovery.txt || fail "discovery: $(cat discovery.txt)"
grep -q "^closed_by_server=1000" discovery.txt || fail "discovery not closed: $(cat discovery.txt)"

dl_log "3. CHAP guessing from $EVIL"
$x timeout 120 /usr/bin/python3 "$here/iscsi/flood.py" chap "$S" "$EVIL" 30 "$I2" "$IQN:pc2" user2 \
  > chap.txt 2>&1 || fail "chap flood: $(cat chap.txt)"
dl_log "chap: $(cat chap.txt)"
read -r failed refused < <(sed -E 's/auth_failed=([0-9]+) refused=([0-9]+)/\1 \2/' chap.txt)
[ "$failed" -ge 1 ] && [ "$failed" -le 5 ] || fail "auth failures answered: $failed (limit 5)"
[ "$refused" -ge 25 ] || fail "refused only $refused of 30"
[ "$(grep -c "$EVIL: connection refused" "$log" || true)" -eq 1 ] || fail "refusal not logged once"
inq_ok || fail "right CHAP secret from $S refused: $(cat inq.txt)"
kill -0 "$pid" || fail "server died"
dl_log "PASS"
