#!/usr/bin/env bash
# TFTP with real clients: tftp-hpa, atftp (windowsize 16), curl tftp:// (--tftp-blksize),
# busybox tftp; a 100 MiB file at blksize 512 (block numbers roll over three times) and 1468
# checked by sha256; 100 clients at once; iPXE binaries from /usr/lib/ipxe; traversal and writes
# refused. Server and clients live in two network namespaces joined by a veth pair.
set -euo pipefail
bin=$(realpath "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dltftp-cli
dl_veth
tmp=$DL_TMP
sns=$DL_NS
cns=$DL_CNS
pid=
cpids=()
fail() { dl_fail "$*"; }
same() { [ "$(sha256sum < "$1")" = "$(sha256sum < "$2")" ] || fail "$3: content differs"; echo "ok   $3"; }

root=$tmp/root
mkdir -p "$root/sub" "$tmp/state" "$tmp/out"
head -c 1000000 /dev/urandom > "$root/sub/one.bin"
head -c 1024 /dev/urandom > "$root/exact.bin"  # a multiple of 512: ends with an empty block
: > "$root/empty.bin"
head -c 104857600 /dev/urandom > "$root/big.bin"  # 100 MiB
echo secret > "$tmp/outside.txt"
ln -s "$tmp/outside.txt" "$root/escape"
cat > "$tmp/diskless.xml" <<XML
<diskless version="1">
  <server address="10.77.1.1" interface="dls0">
    <dhcp mode="off"/>
    <tftp root="$root"/>
    <iscsi port="13260"/>
    <http enabled="false"/>
  </server>
  <images/>
  <hosts unknown="ignore"/>
</diskless>
XML
(cd "$tmp" && exec ip netns exec "$sns" "$bin" -c diskless.xml --state-dir state \
  serve > diskless.log 2>&1) &
pid=$!
DL_PIDS+=("$pid")
for _ in $(seq 150); do grep -q "on udp port 69" "$tmp/diskless.log" && break; sleep 0.1; done
grep -q "on udp port 69" "$tmp/diskless.log" || fail "server did not start"
c() { ip netns exec "$cns" "$@"; }
cd "$tmp/out"

echo "== tftp-hpa"
c tftp -m binary 10.77.1.1 -c get sub/one.bin hpa.bin || fail "tftp-hpa get"
same "$root/sub/one.bin" hpa.bin "tftp-hpa octet"
c tftp -m binary 10.77.1.1 -c get exact.bin exact.bin || fail "tftp-hpa exact"
same "$root/exact.bin" exact.bin "tftp-hpa, size a multiple of 512"
c tftp -m binary 10.77.1.1 -c get empty.bin empty.bin || fail "tftp-hpa empty"
same "$root/empty.bin" empty.bin "tftp-hpa, empty file"
printf 'line one\nline two\n' > "$root/text.txt"
c tftp -m ascii 10.77.1.1 -c get text.txt text.txt || fail "tftp-hpa netascii"
same "$root/text.txt" text.txt "tftp-hpa netascii (converted and back)"

echo "== atftp"
c atftp --get -r sub/one.bin -l atftp16.bin --option "windowsize 16" --option "blksize 1468" \
  --option "tsize 0" 10.77.1.1 || fail "atftp windowsize 16"
same "$root/sub/one.bin" atftp16.bin "atftp windowsize 16 blksize 1468"
c atftp --get -r sub/one.bin -l atftp.bin 10.77.1.1 || fail "atftp plain"
same "$root/sub/one.bin" atftp.bin "atftp lockstep 512"

echo "== curl"
c curl -sS --tftp-blksize 1468 -o curl.bin tftp://10.77.1.1/sub/one.bin || fail "curl"
same "$root/sub/one.bin" curl.bin "curl --tftp-blksize 1468"
c curl -sS --tftp-blksize 8 -o curl8.bin tftp://10.77.1.1/exact.bin || fail "curl blksize 8"
same "$root/exact.bin" curl8.bin "curl --tftp-blksize 8"

echo "== busybox tftp"
c busybox tftp -g -r sub/one.bin -l bb.bin -b 1468 10.77.1.1 || fail "busybox"
same "$root/sub/one.bin" bb.bin "busybox tftp -b 1468"
c busybox tftp -g -r sub/one.bin -l bb512.bin 10.77.1.1 || fail "busybox 512"
same "$root/sub/one.bin" bb512.bin "busybox tftp 512"

echo "== iPXE binaries from /usr/lib/ipxe"
c curl -sS -o undionly.kpxe tftp://10.77.1.1/undionly.kpxe || fail "undionly.kpxe"
same /usr/lib/ipxe/undionly.kpxe undionly.kpxe "undionly.kpxe from /usr/lib/ipxe"
c curl -sS --tftp-blksize 1468 -o ipxe.efi tftp://10.77.1.1/ipxe.efi || fail "ipxe.efi"
same /usr/lib/ipxe/ipxe.efi ipxe.efi "ipxe.efi from /usr/lib/ipxe"

echo "== 100 MiB, sha256"
c curl -sS --tftp-blksize 512 -o big512.bin tftp://10.77.1.1/big.bin || fail "100 MiB at 512"
same "$root/big.bin" big512.bin "100 MiB at blksize 512 (block number rolls over)"
rm -f big512.bin
c curl -sS --tftp-blksize 1468 -o big1468.bin tftp://10.77.1.1/big.bin || fail "100 MiB at 1468"
same "$root/big.bin" big1468.bin "100 MiB at blksize 1468"
rm -f big1468.bin
c atftp --get -r big.bin -l bigw.bin --option "windowsize 16" --option "blksize 1468" \
  10.77.1.1 || fail "100 MiB windowsize 16"
same "$root/big.bin" bigw.bin "100 MiB at blksize 1468 windowsize 16"
rm -f bigw.bin

echo "== 100 clients at once"
# Real PCs each have their own address, and the server holds at most 8 transfers per address
# (tftp/admission.hpp): the clients come from 13 addresses, at most 8 from each. curl binds its
# source address (--interface); atftp and busybox use the namespace's own 10.77.1.2.
for a in $(seq 20 31); do ip -n "$cns" addr add 10.77.1.$a/24 dev dlc0; done
for i in $(seq 1 100); do
  if [ "$i" -le 96 ]; then
    src=10.77.1.$((20 + (i - 1) / 8))
    c curl -sS --interface "$src" --tftp-blksize 1468 -o "p$i.bin" tftp://10.77.1.1/sub/one.bin &
  elif [ $((i % 2)) = 0 ]; then
    c atftp --get -r sub/one.bin -l "p$i.bin" --option "windowsize 8" 10.77.1.1 >/dev/null 2>&1 &
  else
    c busybox tftp -g -r sub/one.bin -l "p$i.bin" -b 1024 10.77.1.1 &
  fi
  cpids+=($!)
  DL_PIDS+=($!)
done
failed=0
for p in "${cpids[@]}"; do wait "$p" || failed=$((failed + 1)); done
cpids=()
[ $failed -eq 0 ] || fail "$failed of 100 concurrent clients failed"
want=$(sha256sum < "$root/sub/one.bin")
for i in $(seq 1 100); do
  [ "$(sha256sum < "p$i.bin")" = "$want" ] || fail "concurrent client $i got different content"
done
echo "ok   100 concurrent clients (curl, atftp, busybox), all content identical"

echo "== refusals with real clients"
c tftp -m binary 10.77.1.1 -c get ../../etc/passwd trav.out > trav.log 2>&1 || true
grep -q "Error code 2" trav.log || { cat trav.log; fail "tftp-hpa ../../etc/passwd not refused"; }
echo "ok   tftp-hpa ../../etc/passwd: $(head -1 trav.log)"
# curl's exit code carries the TFTP error: 68 = file not found (1), 69 = access violation (2).
rc=0; c curl -sS -o abs.out tftp://10.77.1.1//etc/passwd 2> abs.log || rc=$?
[ $rc = 68 ] || { cat abs.log; fail "curl //etc/passwd: exit $rc, want 68 (not found)"; }
echo "ok   curl //etc/passwd: not found (exit 68)"
rc=0; c curl -sS -o esc.out tftp://10.77.1.1/escape 2> esc.log || rc=$?
[ $rc = 69 ] || { cat esc.log; fail "curl escape: exit $rc, want 69 (access violation)"; }
echo "ok   curl escape (symlink out of the root): access violation (exit 69)"
if c busybox tftp -g -r 'sub/one.bin%00' -l nul.out 10.77.1.1 2> nul.log; then
  fail "name with %00 served"
fi
echo "ok   busybox 'sub/one.bin%00': $(head -1 nul.log)"
echo hello > up.txt
c tftp -m binary 10.77.1.1 -c put up.txt up.txt > put.log 2>&1 || true
grep -q "Error code 2" put.log || { cat put.log; fail "write request not refused"; }
[ ! -e "$root/up.txt" ] || fail "write request created a file"
echo "ok   tftp-hpa put refused: $(head -1 put.log)"
if c busybox tftp -p -l up.txt -r up.txt 10.77.1.1 2> bbput.log; then fail "busybox put accepted"; fi
echo "ok   busybox put refused: $(head -1 bbput.log)"

kill -0 "$pid" 2>/dev/null || fail "server died"
echo "PASS"
