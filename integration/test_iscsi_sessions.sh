#!/usr/bin/env bash
# iSCSI session behaviour against real initiators, inside a network namespace:
#  1. reinstatement: libiscsi session A has writes in flight when session B logs in with the same
#     initiator name and ISID (RFC 7143 §6.3.5); A is dropped and B reads back every write A saw
#     acknowledged (integration/iscsi/session_probe.cpp);
#  2. NOP-In pings (<iscsi nop-interval="1">): libiscsi answers them and its idle session stays up;
#     a raw initiator that never answers, like iPXE, is never dropped
#     (integration/iscsi/silent_initiator.py);
#  3. mutual CHAP with iscsi-inq: the right target secret logs in, a wrong one is refused by the
#     initiator, a wrong initiator secret is refused by us.
# No timing assertions: the test waits (with generous limits) for events in the server log.
# Usage: test_iscsi_sessions.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dlsess
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
here=$DL_ROOT/integration
cd "$DL_TMP"
mkdir images state
truncate -s 64M images/a.img images/c.img

# The libiscsi probe: from this build when CMake made it, else compiled here.
probe=${DISKLESS_BUILD_DIR:-}/integration/iscsi_session_probe
if [ ! -x "$probe" ]; then
  probe=$DL_TMP/session_probe
  g++ -O1 -std=c++20 "$here/iscsi/session_probe.cpp" -o "$probe" -liscsi
fi

cat > diskless.xml <<XML
<diskless version="1">
  <server address="$S">
    <dhcp mode="off"/>
    <iscsi port="3260" iqn="$IQN" nop-interval="1"/>
    <http enabled="false"/>
    <state dir="state"/>
  </server>
  <images>
    <image name="a" disk="images/a.img"/>
    <image name="c" disk="images/c.img"/>
  </images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="pc1" image="a" boot="sanboot"/>
    <host mac="52:54:00:00:00:03" name="pc3" image="c" boot="sanboot"
          chap-user="user3" chap-secret="secret3-abcdef"
          mutual-user="target3" mutual-secret="tsecret3-abcd"/>
  </hosts>
</diskless>
XML
dl_spawn diskless "$bin" -c diskless.xml --log-level debug serve
log=$DL_TMP/diskless.log
dl_wait_port tcp 3260
I1=$IQN:initiator:pc1
U1=iscsi://$S/$IQN:pc1/0
fail() { dl_fail "$*"; }
# wait_log PATTERN COUNT: until the server log has COUNT matching lines (at most 120 s).
wait_log() {
  local i
  for i in $(seq 1 600); do
    [ "$(grep -c -- "$1" "$log" || true)" -ge "$2" ] && return 0
    sleep 0.2
  done
  return 1
}

dl_log "reinstatement: a second login with the same name + ISID replaces the first, no acknowledged write lost"
opens_before=$(grep -c "pc1: disk unit opened" "$log" || true)
$x timeout 300 "$probe" reinstate "$U1" "$I1" | tee reinstate.txt || fail "reinstatement probe failed"
grep -q "session reinstated by a new login" "$log" || fail "no reinstatement in the server log"
grep -q "^acked=" reinstate.txt || fail "probe printed no count"
# The unit stays open across the reinstatement (its reservations and unit attentions with it):
# session A's login opened it once, B's reinstating login must not reopen it.
opens=$(( $(grep -c "pc1: disk unit opened" "$log" || true) - opens_before ))
[ "$opens" = 1 ] || fail "the disk unit was opened $opens times for one session and its reinstatement"

dl_log "NOP-In: libiscsi answers the pings and its idle session stays up"
before=$(grep -c "$I1: ping TTT .* answered" "$log" || true)
$x "$probe" idle "$U1" "$I1" > idle.txt 2>&1 &
idle_pid=$!
wait_log "$I1: ping TTT .* answered" $((before + 3)) || fail "no answered pings: $(cat idle.txt)"
kill -USR1 "$idle_pid"
wait "$idle_pid" || fail "idle libiscsi session did not survive: $(cat idle.txt)"
grep -q "still up" idle.txt || fail "idle probe: $(cat idle.txt)"

dl_log "NOP-In: an initiator that never answers (like iPXE) is never dropped"
pings_before=$(grep -c "$I1: idle, NOP-In ping" "$log" || true)
$x timeout 300 /usr/bin/python3 "$here/iscsi/silent_initiator.py" "$S" 3260 "$I1" "$IQN:pc1" 5 |
  tee silent.txt || fail "silent initiator lost its session"
grep -q "^pings=5" silent.txt || fail "silent initiator: $(cat silent.txt)"
[ "$(grep -c "$I1: idle, NOP-In ping" "$log")" -ge $((pings_before + 5)) ] || fail "pings not logged"

dl_log "mutual CHAP: right target secret accepted, wrong target or initiator secret refused"
I3=$IQN:initiator:pc3
T3=$IQN:pc3
$x iscsi-inq -i "$I3" "iscsi://user3%secret3-abcdef@$S/$T3/0?target_user=target3&target_password=tsecret3-abcd" \
  > inq.txt || fail "mutual CHAP login failed"
grep -qi "DIRECT_ACCESS" inq.txt || fail "INQUIRY over mutual CHAP: $(cat inq.txt)"
# The same through libiscsi's environment variables.
$x env LIBISCSI_CHAP_TARGET_USERNAME=target3 LIBISCSI_CHAP_TARGET_PASSWORD=tsecret3-abcd \
  iscsi-inq -i "$I3" "iscsi://user3%secret3-abcdef@$S/$T3/0" > /dev/null || fail "mutual CHAP (env)"
if $x iscsi-inq -i "$I3" "iscsi://user3%secret3-abcdef@$S/$T3/0?target_user=target3&target_password=wrong-secret1" \
  > /dev/null 2> err.txt; then
  fail "initiator accepted a target that does not know the mutual secret"
fi
grep -qi "CHAP_R" err.txt || fail "refusal reason: $(cat err.txt)"
if $x iscsi-inq -i "$I3" "iscsi://user3%wrong-secret1@$S/$T3/0?target_user=target3&target_password=tsecret3-abcd" \
  > /dev/null 2>&1; then
  fail "wrong initiator secret accepted with mutual CHAP"
fi
dl_log "PASS"
