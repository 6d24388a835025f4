#!/usr/bin/env bash
# Disks on Ceph RBD (src/disks/rbd_disks.hpp) against a one-node cluster started by the test
# (lib/ceph.sh), with libiscsi tools, qemu-img and qemu-io as initiators:
#   readonly:   the golden snapshot served as-is: iscsi-inq, iscsi-readcapacity16, qemu-img
#               convert equal to the imported data; writes refused
#   persistent: the host's clone rbd/gold.<mac-with-dashes> keeps writes across logins and a server restart
#   volatile:   writes kept across logins of one boot, gone after the boot script is fetched
#               (TFTP or HTTP): the clone is made again from the snapshot
#   none:       writes reach the image itself
#   the golden image and snapshot are never written; iscsi-test-cu --dataloss -t ALL on an
#   RBD-backed LUN has no failures beyond integration/iscsi/test-cu-expected.txt
# Usage: test_rbd.sh path/to/diskless   (root)
set -euo pipefail
bin=$(readlink -f "$1")
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/diskless.sh"
. "$(dirname "$0")/lib/lan_client.sh"
. "$(dirname "$0")/lib/ceph.sh"
if ! ldd "$bin" | grep -q librbd; then
  echo "SKIP: $bin was built without Ceph RBD (DISKLESS_RBD=OFF: install librbd-dev librados-dev libradospp-dev)"
  exit 0
fi
missing=$(ceph_missing)
if [ -n "$missing" ]; then
  echo "SKIP: no Ceph daemons/tools ($missing): run integration/deps.sh"
  exit 0
fi
dl_init dlrbd
dl_net 0
x="ip netns exec $DL_NS"
S=$DL_SERVER
# The volatile host's own PC: only it may fetch its boot script (the new-boot signal).
dl_lan_pc 52:54:00:08:01:02 10.77.0.52
pc="ip netns exec $DL_CNS"
IQN=iqn.2026-11.lan.diskless
cd "$DL_TMP"
fail() { dl_fail "$*"; }
ceph_up rbd

dl_log "golden image: 64 MiB of random data, snapshot v1"
head -c $((64 << 20)) /dev/urandom >gold.orig
cephx rbd import --no-progress gold.orig rbd/gold
cephx rbd snap create --no-progress rbd/gold@v1
head -c $((8 << 20)) /dev/urandom >own.orig
cephx rbd import --no-progress own.orig rbd/own
cephx rbd create --size 64M rbd/cu
mkdir state
cat >diskless.xml <<XML
<diskless version="1">
$(dl_iscsi_server "$S" 8080)
  <images>
    <image name="gold" rbd="rbd/gold" snapshot="v1" ceph-conf="$CEPH_CONF" ceph-user="client.admin"/>
    <image name="own" rbd="rbd/own" ceph-conf="$CEPH_CONF"/>
    <image name="cu" rbd="rbd/cu" ceph-conf="$CEPH_CONF"/>
  </images>
  <hosts>
    <host mac="52:54:00:08:01:01" name="pers" image="gold" boot="sanboot" overlay="persistent"/>
    <host mac="52:54:00:08:01:02" name="vol" image="gold" boot="sanboot" overlay="volatile"/>
    <host mac="52:54:00:08:01:03" name="ro" image="gold" boot="sanboot" overlay="readonly"/>
    <host mac="52:54:00:08:01:04" name="own" image="own" boot="sanboot" overlay="none"/>
    <host mac="52:54:00:08:01:05" name="cu" image="cu" boot="sanboot" allow-any-initiator="true"/>
  </hosts>
</diskless>
XML
"$bin" -c diskless.xml check || fail "diskless check refused the RBD inventory"
server_pid=
start_server() {
  dl_spawn diskless "$bin" -c diskless.xml --log-level debug serve
  server_pid=$DL_LAST_PID
  dl_wait_port tcp 3260
}
opts() { dl_iscsi_opts "$S" "$1"; }
qio() { dl_qio "$S" "$@"; }
verify() { dl_qio_verify "$S" "$@"; }
golden_unchanged() {
  cephx rbd export --no-progress rbd/gold@v1 - 2>/dev/null | cmp -s - gold.orig || fail "snapshot gold@v1 changed"
  cephx rbd export --no-progress rbd/gold - 2>/dev/null | cmp -s - gold.orig || fail "image gold changed"
}
start_server

dl_log "readonly: the snapshot as-is"
$x iscsi-inq -i "$IQN:initiator:ro" "iscsi://$S/$IQN:ro/0" | tee inq.txt
grep -qi "DISKLESS" inq.txt || fail "INQUIRY vendor"
$x iscsi-readcapacity16 -i "$IQN:initiator:ro" "iscsi://$S/$IQN:ro/0" | tee cap.txt
grep -q "Total size:67108864" cap.txt || fail "capacity"
out=$($x qemu-img convert -O raw --image-opts "$(opts ro)" ro.raw 2>&1) || fail "qemu-img convert: $out"
cmp -s ro.raw gold.orig || fail "readonly disk differs from the golden image"
if qio ro -c "write -P 0xc1 0 4k" 2>&1 | grep -q "^wrote"; then fail "readonly host wrote"; fi

dl_log "persistent: a clone that keeps writes across logins and restarts"
qio pers -c "write -P 0xa1 1000k 100k" -c "write -P 0xa2 3m 4k" -c flush >/dev/null
verify pers -c "read -P 0xa1 1000k 100k" -c "read -P 0xa2 3m 4k" || fail "persistent data lost"
cephx rbd info rbd/gold.52-54-00-08-01-01 | grep -q "parent: rbd/gold@v1" || fail "no clone rbd/gold.52-54-00-08-01-01 of gold@v1"
golden_unchanged

dl_log "volatile: kept across logins of one boot, gone after the boot script is fetched"
verify vol -c "write -P 0xb1 2m 64k" -c "read -P 0xb1 2m 64k" || fail "volatile write not visible"
verify vol -c "read -P 0xb1 2m 64k" || fail "volatile write lost at a login of the same boot"
$pc curl -sf -o /dev/null tftp://$S:6969/boot/52-54-00-08-01-02.ipxe || fail "tftp script fetch"
verify vol -c "read -P 0xb1 2m 64k" && fail "volatile write survived a new boot (TFTP script fetch)"
out=$($x qemu-img convert -O raw --image-opts "$(opts vol)" vol.raw 2>&1) || fail "read vol: $out"
cmp -s vol.raw gold.orig || fail "fresh volatile disk differs from the golden image"
verify vol -c "write -P 0xb2 2m 64k" -c flush || fail "volatile write"
$pc curl -sf -o /dev/null http://$S:8080/boot/52-54-00-08-01-02.ipxe || fail "http script fetch"
verify vol -c "read -P 0xb2 2m 64k" && fail "volatile write survived a new boot (HTTP script fetch)"
verify vol -c "write -P 0xb3 2m 64k" -c flush || fail "volatile write"
grep -q "volatile rbd clone rbd/gold.52-54-00-08-01-02 made again" diskless.log || fail "no re-clone logged"

dl_log "server restart: persistent and volatile clones are reused"
dl_kill "$server_pid"
start_server
verify pers -c "read -P 0xa1 1000k 100k" || fail "persistent data lost over a server restart"
verify vol -c "read -P 0xb3 2m 64k" || fail "volatile clone wiped by a reconnect after a restart"
grep -q "rbd clone rbd/gold.52-54-00-08-01-01 reused" diskless.log || fail "clone reuse not logged"

dl_log "none: writes reach the image"
qio own -c "write -P 0xd1 0 4k" -c flush >/dev/null
cmp -s <(cephx rbd export --no-progress rbd/own - 2>/dev/null | head -c 4096) \
  <(head -c 4096 /dev/zero | tr '\0' '\321') || fail "overlay=none write did not reach rbd/own"
golden_unchanged

dl_log "iscsi-test-cu --dataloss -t ALL on rbd/cu"
expected=$DL_ROOT/integration/iscsi/test-cu-expected.txt
$x timeout 900 iscsi-test-cu --dataloss -n -t ALL "iscsi://$S/$IQN:cu/0" >cu.txt 2>&1 || true
{ grep -E "^Suite .*, Test .* had failures:" cu.txt || true; } |
  sed -E 's/^Suite ([^,]+), Test (.+) had failures:.*/\1.\2/' | sort -u >cu-failures.txt
read -r _ total ran passed failed _ < <(grep -E "^ +tests " cu.txt || echo "tests 0 0 0 0 0")
dl_log "iscsi-test-cu: $total tests, $passed passed, $failed failed"
[ "${passed:-0}" -gt 0 ] || fail "iscsi-test-cu ran nothing: $(tail -20 cu.txt)"
new_failures=$(comm -23 cu-failures.txt <(grep -v '^#' "$expected" | sort -u))
if [ -n "$new_failures" ]; then
  echo "$new_failures"
  fail "new iscsi-test-cu failures on RBD (known ones: $expected)"
fi
golden_unchanged

dl_kill "$server_pid"
ceph_down
dl_log "PASS"
