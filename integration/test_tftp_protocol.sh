#!/usr/bin/env bash
# TFTP protocol behaviour against the real binary, checked packet by packet with a raw UDP client
# (exact ERROR codes, OACK contents, TIDs, window restart, MTU clamp, transfer limit, port range).
# Server and client live in two network namespaces joined by a veth pair (10.77.1.1 / .2).
set -euo pipefail
bin=$(realpath "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dltftp-proto
dl_veth 52:54:00:77:01:01  # the client is tftp-pc: it may fetch its script
tmp=$DL_TMP
sns=$DL_NS
cns=$DL_CNS
pid=
fail() { dl_fail "$*"; }

mkdir -p "$tmp/root/sub" "$tmp/state"
head -c 300000 /dev/urandom > "$tmp/root/small.bin"
echo secret > "$tmp/outside.txt"
ln -s "$tmp/outside.txt" "$tmp/root/escape"
cat > "$tmp/diskless.xml" <<XML
<diskless version="1">
  <server address="10.77.1.1" interface="dls0">
    <dhcp mode="off"/>
    <tftp root="$tmp/root" port-range="30000-30999" max-transfers="40"/>
    <iscsi port="13260"/>
    <http enabled="false"/>
  </server>
  <images/>
  <hosts unknown="ignore">
    <host mac="52:54:00:77:01:01" name="tftp-pc" boot="local"/>
  </hosts>
</diskless>
XML
(cd "$tmp" && exec ip netns exec "$sns" "$bin" -c diskless.xml --state-dir state \
  --log-level debug serve > diskless.log 2>&1) &
pid=$!
DL_PIDS+=("$pid")
for _ in $(seq 150); do grep -q "on udp port 69" "$tmp/diskless.log" && break; sleep 0.1; done
grep -q "on udp port 69" "$tmp/diskless.log" || fail "server did not start"

cat > "$tmp/raw.py" <<'PY'
import socket, struct, sys, os
SERVER = ('10.77.1.1', 69)
SMALL = open(sys.argv[2], 'rb').read()

def sock(timeout=5.0, src='10.77.1.2'):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    return s

def req(name, opts=(), mode=b'octet', op=1):
    b = struct.pack('!H', op) + name + b'\0' + mode + b'\0'
    for k, v in opts:
        b += k + b'\0' + v + b'\0'
    return b

def reply(s):
    data, addr = s.recvfrom(70000)
    return struct.unpack('!H', data[:2])[0], data, addr

def expect_error(pkt, code, what):
    s = sock()
    s.sendto(pkt, SERVER)
    op, data, _ = reply(s)
    assert op == 5, f'{what}: expected ERROR {code}, got opcode {op}'
    got = struct.unpack('!H', data[2:4])[0]
    assert got == code, f'{what}: expected ERROR {code}, got ERROR {got} {data[4:]!r}'
    print(f'ok   {what}: ERROR {code} {data[4:-1].decode(errors="replace")}')

def oack(data):
    parts = data[2:].split(b'\0')[:-1]
    return dict(zip(parts[0::2], parts[1::2]))

def refusals():
    expect_error(req(b'../../etc/passwd'), 2, 'traversal ../../etc/passwd')
    expect_error(req(b'sub/../../outside.txt'), 2, 'traversal sub/../..')
    expect_error(req(b'..\\..\\etc\\passwd'), 2, 'traversal with backslashes')
    expect_error(req(b'/etc/passwd'), 1, 'absolute path outside the root')
    expect_error(req(b'escape'), 2, 'symlink out of the root')
    expect_error(req(b'small.bin%00.ipxe'), 1, 'literal %00 in a name')
    # An embedded NUL ends the name; what follows is read as the mode and refused.
    expect_error(struct.pack('!H', 1) + b'small.bin\0../../etc/passwd\0octet\0', 4,
                 'embedded NUL')
    expect_error(req(b'sub'), 1, 'a directory')
    expect_error(req(b'missing.bin'), 1, 'missing file')
    expect_error(req(b'small.bin', mode=b'mail'), 4, 'mail mode')
    expect_error(req(b'upload.bin', op=2), 2, 'write request')
    expect_error(struct.pack('!H', 1) + b'no-terminator', 4, 'unterminated request')
    assert not os.path.exists(sys.argv[3] + '/upload.bin')

def oack_only_requested():
    s = sock()
    s.sendto(req(b'small.bin', [(b'tsize', b'0'), (b'frobnicate', b'1')]), SERVER)
    op, data, _ = reply(s)
    assert op == 6, f'expected OACK, got {op}'
    o = oack(data)
    assert o == {b'tsize': str(len(SMALL)).encode()}, o
    s.sendto(struct.pack('!HHH', 5, 0, 0), _)
    s2 = sock()
    s2.sendto(req(b'small.bin', [(b'blksize', b'1468'), (b'windowsize', b'999')]), SERVER)
    op, data, addr = reply(s2)
    o = oack(data)
    assert o == {b'blksize': b'1468', b'windowsize': b'64'}, o
    assert 30000 <= addr[1] <= 30999, f'transfer port {addr[1]} outside the port range'
    s2.sendto(struct.pack('!HH', 5, 0) + b'bye\0', addr)
    s3 = sock()
    s3.sendto(req(b'small.bin'), SERVER)  # no options: DATA 1 at once, 512 bytes
    op, data, addr = reply(s3)
    assert op == 3 and data[2:4] == b'\0\1' and data[4:] == SMALL[:512], 'no-option start'
    s3.sendto(struct.pack('!HH', 5, 0) + b'bye\0', addr)
    print('ok   OACK carries only requested, accepted options; port range respected')

def fetch(s, addr, first, blksize, timeout_opt=False):
    """Lockstep from DATA `first` (already received) to the end; returns the bytes."""
    out = bytearray(first[4:])
    block = 1
    last = first
    while len(last) - 4 == blksize:
        s.sendto(struct.pack('!HH', 4, block), addr)
        op, last, a = reply(s)
        assert op == 3 and a == addr, f'opcode {op} from {a}'
        got = struct.unpack('!H', last[2:4])[0]
        if got != (block + 1) & 0xffff:
            continue  # a retransmission
        block = got
        out += last[4:]
    s.sendto(struct.pack('!HH', 4, block), addr)
    return bytes(out)

def wrong_tid_and_duplicates():
    s = sock()
    s.sendto(req(b'small.bin', [(b'timeout', b'5')]), SERVER)
    op, data, addr = reply(s)
    assert op == 6
    s.sendto(struct.pack('!HH', 4, 0), addr)
    op, d1, _ = reply(s)
    assert op == 3 and d1[2:4] == b'\0\1'
    intruder = sock()
    intruder.sendto(struct.pack('!HH', 4, 1), addr)
    op, e, a = reply(intruder)
    assert op == 5 and struct.unpack('!H', e[2:4])[0] == 5 and a == addr, 'wrong TID not ERROR 5'
    # Duplicate ACK 0 must not produce another DATA 1 (the timeout is 5 s, we wait 1 s).
    s.sendto(struct.pack('!HH', 4, 0), addr)
    s.settimeout(1.0)
    try:
        op, d, _ = reply(s)
        raise AssertionError(f'duplicate ACK answered with opcode {op}')
    except socket.timeout:
        pass
    s.settimeout(5.0)
    body = fetch(s, addr, d1, 512)
    assert body == SMALL, 'content differs after a wrong-TID packet'
    print('ok   wrong TID gets ERROR 5 and the transfer completes; duplicate ACK ignored')

def window_restart():
    s = sock()
    s.sendto(req(b'small.bin', [(b'windowsize', b'4'), (b'timeout', b'5')]), SERVER)
    op, data, addr = reply(s)
    assert oack(data) == {b'windowsize': b'4', b'timeout': b'5'}
    s.sendto(struct.pack('!HH', 4, 0), addr)
    blocks = [struct.unpack('!H', reply(s)[1][2:4])[0] for _ in range(4)]
    assert blocks == [1, 2, 3, 4], blocks
    s.sendto(struct.pack('!HH', 4, 2), addr)  # "lost 3": restart from 3
    blocks = [struct.unpack('!H', reply(s)[1][2:4])[0] for _ in range(4)]
    assert blocks == [3, 4, 5, 6], blocks
    s.sendto(struct.pack('!HH', 5, 0) + b'enough\0', addr)
    # The transfer is over: an ACK now gets no DATA (ICMP unreachable or silence).
    s.sendto(struct.pack('!HH', 4, 6), addr)
    s.settimeout(1.5)
    try:
        op, d, _ = reply(s)
        assert op != 3, 'DATA after the client sent ERROR'
    except (socket.timeout, ConnectionRefusedError):
        pass
    print('ok   window restarts from the block after a partial ACK; client ERROR ends it')

def mtu_clamp():
    s = sock()
    s.sendto(req(b'small.bin', [(b'blksize', b'1468')]), SERVER)
    op, data, addr = reply(s)
    assert oack(data) == {b'blksize': b'968'}, oack(data)
    s.sendto(struct.pack('!HH', 4, 0), addr)
    op, d1, _ = reply(s)
    assert len(d1) == 4 + 968
    s.sendto(struct.pack('!HH', 5, 0) + b'bye\0', addr)
    print('ok   blksize clamped to the interface MTU (1000) - 32')

def transfer_limit():
    # One address holds at most 8 transfers, whatever its ports: the 9th gets ERROR 0.
    mine = []
    for i in range(8):
        s = sock(src='10.77.1.16')
        s.sendto(req(b'small.bin', [(b'timeout', b'30')]), SERVER)
        op, data, addr = reply(s)
        assert op == 6
        mine.append((s, addr))
    s = sock(src='10.77.1.16')
    s.sendto(req(b'small.bin'), SERVER)
    op, data, addr = reply(s)
    assert op == 5 and data[2:4] == b'\0\0', f'9th transfer of one address: opcode {op}'
    print(f'ok   9th concurrent transfer of one address refused: {data[4:-1].decode()}')
    for h, a in mine:
        h.sendto(struct.pack('!HH', 5, 0) + b'bye\0', a)
    import time
    time.sleep(0.5)  # the server ends them (an ERROR from the client ends a transfer)
    # max-transfers is 40: hold 40 acknowledged transfers from 5 addresses, the 41st gets an
    # ERROR, not silence (acknowledged ones never give way to a new request).
    held = []
    for i in range(40):
        s = sock(src=f'10.77.1.{10 + i // 8}')
        s.sendto(req(b'small.bin', [(b'timeout', b'30')]), SERVER)
        op, data, addr = reply(s)
        assert op == 6
        s.sendto(struct.pack('!HH', 4, 0), addr)
        op, data, addr = reply(s)
        assert op == 3
        held.append((s, addr))
    s = sock(src='10.77.1.15')
    s.sendto(req(b'small.bin'), SERVER)
    op, data, addr = reply(s)
    assert op == 5 and data[2:4] == b'\0\0', f'41st transfer: opcode {op}'
    print(f'ok   41st concurrent transfer refused: {data[4:-1].decode()}')
    for h, a in held:
        h.sendto(struct.pack('!HH', 5, 0) + b'bye\0', a)
    # Slots are free again once the clients ended their transfers.
    for _ in range(50):
        s = sock(0.5)
        s.sendto(req(b'small.bin'), SERVER)
        try:
            op, data, addr = reply(s)
        except socket.timeout:
            continue
        if op == 3:
            assert fetch(s, addr, data, 512) == SMALL
            print('ok   slots freed after the clients ended')
            return
    raise AssertionError('no slot freed')

def request_burst():
    # 150 requests queue up while the server is stopped (SIGSTOP), then land at once: every one
    # must be answered (ERROR 1, or ERROR 0 past the transfer limit) without any client
    # retransmitting.
    import signal
    pid = int(os.environ['SERVER_PID'])
    socks = [sock() for _ in range(150)]
    os.kill(pid, signal.SIGSTOP)
    try:
        for s in socks:
            s.sendto(req(b'missing.bin'), SERVER)
    finally:
        os.kill(pid, signal.SIGCONT)
    codes = {}
    for s in socks:
        op, data, _ = reply(s)
        assert op == 5, op
        code = struct.unpack('!H', data[2:4])[0]
        codes[code] = codes.get(code, 0) + 1
    assert set(codes) <= {0, 1}, codes
    print(f'ok   burst of 150 requests all answered: {codes}')

def virtual_files():
    # The per-host script comes from the boot renderer through the virtual-file seam.
    s = sock()
    s.sendto(req(b'/boot/52-54-00-77-01-01.ipxe', [(b'tsize', b'0'), (b'blksize', b'1468')]),
             SERVER)
    op, data, addr = reply(s)
    assert op == 6, f'expected OACK, got {op} {data!r}'
    size = int(oack(data)[b'tsize'])
    s.sendto(struct.pack('!HH', 4, 0), addr)
    op, d1, _ = reply(s)
    body = fetch(s, addr, d1, 1468)
    assert len(body) == size and body.startswith(b'#!ipxe'), (size, body[:40])
    print(f'ok   boot/52-54-00-77-01-01.ipxe served from memory, tsize {size} exact')
    expect_error(req(b'boot/52-54-00-77-01-99.ipxe'), 1, 'script of an unknown MAC')

for check in sys.argv[4:]:
    globals()[check]()
PY

run() { SERVER_PID=$pid ip netns exec "$cns" /usr/bin/python3 "$tmp/raw.py" x "$tmp/root/small.bin" "$tmp/root" "$@"; }
echo "== refusals (traversal, symlink, NUL, WRQ, bad mode)"
run refusals || fail "refusals"
echo "== option negotiation"
run oack_only_requested || fail "OACK"
echo "== TIDs and duplicates"
run wrong_tid_and_duplicates || fail "wrong TID"
echo "== windowsize restart"
run window_restart || fail "window restart"
echo "== request burst"
run request_burst || fail "request burst"
echo "== virtual files (per-host iPXE scripts)"
run virtual_files || fail "virtual files"
echo "== concurrent transfer limit"
for i in $(seq 10 16); do ip -n "$cns" addr add "10.77.1.$i/24" dev dlc0; done
run transfer_limit || fail "transfer limit"
echo "== MTU clamp"
ip -n "$sns" link set dls0 mtu 1000
ip -n "$cns" link set dlc0 mtu 1000
run mtu_clamp || fail "MTU clamp"
grep -q "write request for 'upload.bin' refused" "$tmp/diskless.log" || fail "WRQ not logged"
kill -0 "$pid" 2>/dev/null || fail "server died"
echo "PASS"
