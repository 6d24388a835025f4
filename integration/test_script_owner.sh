#!/usr/bin/env bash
# A host's boot script (and the CHAP secret in it) goes to that host's PC only:
#   - two PCs on the server's bridge: the owner (its MAC is the host's) gets the script over HTTP
#     and TFTP; the neighbour gets 403 / TFTP error 2 (access violation), no secret in its
#     output, and the server logs why (info, once per address and minute); kernels stay public;
#   - the server machine itself is not an owner (403);
#   - chap-secret="auto": each fetch by the owner is a new boot with a new secret; the current
#     secret logs in over iSCSI (libiscsi's iscsi-inq with a CHAP URL), the previous one and the
#     word "auto" are refused; the secret never reaches the log.
# Usage: test_script_owner.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/diskless.sh"
. "$(dirname "$0")/lib/lan_client.sh"
dl_init dlown
dl_net 0
S=$DL_SERVER
IQN=iqn.2026-11.lan.diskless
OWNER_MAC=52:54:00:0c:00:01
dl_lan_pc "$OWNER_MAC" 10.77.0.21                   # the owner, namespace $DL_CNS
dl_lan_pc 52:54:00:0c:00:99 10.77.0.22 "$DL_NS-n"   # the neighbour, a PC of no host
owner() { ip netns exec "$DL_CNS" "$@"; }
neighbour() { ip netns exec "$DL_NS-n" "$@"; }
srv() { ip netns exec "$DL_NS" "$@"; }
fail() { echo "--- server log" >&2; tail -40 "$DL_TMP/diskless.log" >&2; dl_fail "$*"; }
cd "$DL_TMP"
mkdir state
head -c $((4 << 20)) /dev/urandom >disk.img
head -c 1000 /dev/urandom >vmlinuz
cat >diskless.xml <<XML
<diskless version="1">
$(dl_iscsi_server "$S" 8080)
  <images>
    <image name="disk" disk="disk.img"/>
    <image name="live" kernel="vmlinuz"/>
  </images>
  <hosts>
    <host mac="$OWNER_MAC" name="pc1" image="disk" boot="sanboot" overlay="readonly" chap-user="pc1user"
          chap-secret="auto"/>
    <host mac="52:54:00:0c:00:02" name="pc2" image="disk" boot="sanboot" overlay="readonly"
          chap-user="pc2user" chap-secret="Static-Secret2"/>
  </hosts>
</diskless>
XML
dl_spawn diskless "$bin" -c diskless.xml serve
for i in $(seq 1 100); do
  srv bash -c "echo > /dev/tcp/$S/8080" 2>/dev/null && break
  sleep 0.1
done
script=boot/52-54-00-0c-00-01.ipxe
code() { "$@" curl -s -o body.txt -w '%{http_code}' "http://$S:8080/$script" || true; }
secret_of() { sed -n 's/^set password //p' "$1"; }

dl_log "the owner gets its script over HTTP and TFTP"
owner curl -sf "http://$S:8080/$script" >http1.txt || fail "owner: HTTP script"
head -1 http1.txt | grep -q '^#!ipxe' || fail "owner: not a script"
s1=$(secret_of http1.txt)
[[ "$s1" =~ ^[A-Za-z0-9]{16}$ ]] || fail "owner: auto secret '$s1' is not 16 alphanumerics"
owner curl -sf "tftp://$S:6969/$script" >tftp1.txt || fail "owner: TFTP script"
head -1 tftp1.txt | grep -q '^#!ipxe' || fail "owner: TFTP body is not a script"
s2=$(secret_of tftp1.txt)
[[ "$s2" =~ ^[A-Za-z0-9]{16}$ ]] || fail "owner: TFTP auto secret '$s2'"
[ "$s1" != "$s2" ] || fail "two boots (script fetches) gave the same secret"

dl_log "the neighbour: 403 over HTTP, TFTP error 2, no secret, a log line"
[ "$(code neighbour)" = 403 ] || fail "neighbour: HTTP not 403"
for s in "$s1" "$s2"; do grep -q "$s" body.txt && fail "neighbour: a secret in the 403 body"; done
grep -q '#!ipxe' body.txt && fail "neighbour: script body in the 403"
rc=0
neighbour curl -s "tftp://$S:6969/$script" >tftp-n.txt 2>tftp-n.err || rc=$?
[ "$rc" = 69 ] || fail "neighbour: TFTP gave curl exit $rc, not 69 (TFTP access violation)"
[ -s tftp-n.txt ] && fail "neighbour: TFTP sent a body"
[ "$(neighbour curl -s -o n2.txt -w '%{http_code}' http://$S:8080/boot/52-54-00-0c-00-02.ipxe)" = 403 ] ||
  fail "neighbour: pc2's script not 403"
grep -q Static-Secret2 n2.txt && fail "neighbour: pc2's static secret leaked"
neighbour curl -sf "http://$S:8080/images/live/vmlinuz" | cmp -s - vmlinuz ||
  fail "neighbour: a kernel is not public"
grep -q "from 10.77.0.22 refused: the script of $OWNER_MAC goes to that PC only" diskless.log ||
  fail "no log line for the refusal"
[ "$(grep -c 'from 10.77.0.22 refused' diskless.log)" = 1 ] ||
  fail "refusals from one address not rate-limited to one line"

dl_log "the server machine itself is not an owner"
[ "$(code srv)" = 403 ] || fail "server itself: HTTP not 403"

dl_log "chap-secret=auto: the current secret logs in, the previous one and 'auto' do not"
owner curl -sf "http://$S:8080/$script" >http3.txt || fail "owner: third fetch"
s3=$(secret_of http3.txt)
[ "$s3" != "$s2" ] || fail "third boot kept the secret"
I1=$IQN:initiator:pc1
T="$IQN:pc1/0"
owner iscsi-inq -i "$I1" "iscsi://pc1user%$s3@$S/$T" >inq.txt || fail "login with the current secret"
for old in "$s2" auto; do
  if owner iscsi-inq -i "$I1" "iscsi://pc1user%$old@$S/$T" >/dev/null 2>&1; then
    fail "login with secret '$old' accepted"
  fi
done
for s in "$s1" "$s2" "$s3"; do grep -q "$s" diskless.log && fail "a per-boot secret in the log"; done
echo PASS
