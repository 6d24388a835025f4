#!/usr/bin/env bash
# TFTP under load from hostile or careless clients, against the real binary: server and clients in
# two network namespaces joined by a veth pair (10.77.1.1 / .2, plus many client addresses).
#  - netascii of a 16 MiB published kernel, 100 requests from 100 addresses: the server's peak
#    RSS grows by less than 64 MiB (a converted copy per request was +1.6 GB), a tftp-hpa client
#    meanwhile gets its file, and a netascii download equals the reference conversion.
#  - a flood of never-acknowledged requests from many ports of one address, then from 40
#    addresses (more than the transfer table holds), and a 2000-request burst: tftp-hpa and atftp
#    still get their file during the flood, every burst request is answered, drops are logged
#    (rate-limited), and the server stays up.
set -euo pipefail
bin=$(realpath "$1")
. "$(dirname "$0")/lib/common.sh"
dl_init dltftp-flood
dl_veth
tmp=$DL_TMP
sns=$DL_NS
cns=$DL_CNS
pid=
fail() {
  tail -30 "$tmp/diskless.log" >&2 || true
  dl_fail "$*"
}

mkdir -p "$tmp/root" "$tmp/state" "$tmp/k"
head -c 300000 /dev/urandom > "$tmp/root/small.bin"
head -c 16M /dev/urandom > "$tmp/k/vmlinuz"  # CR and LF bytes everywhere, on block boundaries too
head -c 1000 /dev/urandom > "$tmp/k/initrd.img"
# 100 addresses for the netascii clients, 40 for the flooders; the primary .2 stays for the
# real clients.
for i in $(seq 100 199) $(seq 50 89); do ip -n "$cns" addr add "10.77.1.$i/24" dev dlc0; done
cat > "$tmp/diskless.xml" <<XML
<diskless version="1">
  <server address="10.77.1.1" interface="dls0">
    <dhcp mode="off"/>
    <tftp root="$tmp/root"/>
    <iscsi port="13260"/>
    <http enabled="false"/>
  </server>
  <images><image name="live" kernel="k/vmlinuz" initrd="k/initrd.img" cmdline="quiet"/></images>
  <hosts unknown="ignore">
    <host mac="52:54:00:77:01:01" name="tftp-pc" image="live" boot="linux"/>
  </hosts>
</diskless>
XML
(cd "$tmp" && exec ip netns exec "$sns" "$bin" -c diskless.xml --state-dir state \
  serve > diskless.log 2>&1) &
pid=$!
DL_PIDS+=("$pid")
for _ in $(seq 150); do grep -q "on udp port 69" "$tmp/diskless.log" && break; sleep 0.1; done
grep -q "on udp port 69" "$tmp/diskless.log" || fail "server did not start"

cat > "$tmp/flood.py" <<'PY'
import os, select, socket, struct, sys, time
SERVER = ('10.77.1.1', 69)
tmp = sys.argv[1]

def sock(src, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    return s

def req(name, opts=(), mode=b'octet'):
    b = struct.pack('!H', 1) + name + b'\0' + mode + b'\0'
    for k, v in opts:
        b += k + b'\0' + v + b'\0'
    return b

def hwm():
    for line in open(f'/proc/{os.environ["SERVER_PID"]}/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024

def reference(data):
    return data.replace(b'\r', b'\r\0').replace(b'\n', b'\r\n')

def netascii_memory():
    before = hwm()
    held = []
    for i in range(100):
        s = sock(f'10.77.1.{100 + i}', 30)
        s.sendto(req(b'images/live/vmlinuz', [(b'tsize', b'0')], b'netascii'), SERVER)
        held.append(s)
    size = len(reference(open(f'{tmp}/k/vmlinuz', 'rb').read()))
    for s in held:  # every OACK carries the exact converted size; ACK 0 starts the data
        data, addr = s.recvfrom(2048)
        assert data[:2] == b'\0\6', data[:40]
        assert data[2:].split(b'\0')[1] == str(size).encode(), (data, size)
        s.sendto(struct.pack('!HH', 4, 0), addr)
    for s in held:
        data, _ = s.recvfrom(2048)
        assert data[:4] == b'\0\3\0\1', data[:8]
    # A real client meanwhile (tftp-hpa from the primary address).
    rc = os.system(f'cd {tmp} && tftp 10.77.1.1 -c get small.bin hpa_during.bin')
    assert rc == 0 and open(f'{tmp}/hpa_during.bin', 'rb').read() == \
        open(f'{tmp}/root/small.bin', 'rb').read(), 'tftp-hpa during 100 netascii transfers'
    grown = hwm() - before
    assert grown < 64 * 2**20, f'peak RSS grew by {grown / 2**20:.1f} MiB (bound 64 MiB)'
    print(f'ok   100 netascii transfers of a 16 MiB kernel held: peak RSS +{grown / 2**20:.1f} MiB'
          f' (bound 64 MiB); tftp-hpa got its file meanwhile')
    for s in held:
        s.close()

def fetch_all(s, addr, blksize):
    body, block = b'', 1
    while True:
        data, _ = s.recvfrom(70000)
        n = struct.unpack('!H', data[2:4])[0]
        if data[:2] != b'\0\3' or n != block & 0xffff:
            continue
        body += data[4:]
        s.sendto(struct.pack('!HH', 4, n), addr)
        if len(data) - 4 < blksize:
            return body
        block += 1

def netascii_download():
    s = sock('10.77.1.2', 10)
    s.sendto(req(b'images/live/vmlinuz', [(b'blksize', b'1468'), (b'tsize', b'0')],
                 b'netascii'), SERVER)
    data, addr = s.recvfrom(2048)
    assert data[:2] == b'\0\6', data[:40]
    s.sendto(struct.pack('!HH', 4, 0), addr)
    body = fetch_all(s, addr, 1468)
    want = reference(open(f'{tmp}/k/vmlinuz', 'rb').read())
    assert body == want, f'netascii download differs ({len(body)} vs {len(want)} bytes)'
    print(f'ok   netascii download of the 16 MiB kernel equals the reference ({len(body)} bytes)')

def one_address_flood():
    socks = [sock('10.77.1.50', 5) for _ in range(300)]
    for s in socks:
        s.sendto(req(b'small.bin'), SERVER)
    data_ = refused = 0
    for s in socks:
        d, _ = s.recvfrom(2048)
        if d[:2] == b'\0\3':
            data_ += 1
        elif d[:4] == b'\0\5\0\0':
            refused += 1
    assert data_ <= 8 and data_ + refused == 300, (data_, refused)
    print(f'ok   300 requests from one address: {data_} transfers, {refused} refused (ERROR 0)')
    for s in socks:
        s.close()

def flooder(seconds):
    # Never-acknowledged requests from 40 addresses, ~1000/s, new ports all the time.
    socks = [sock(f'10.77.1.{50 + i % 40}') for i in range(400)]
    end, i = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        socks[i % len(socks)].close()
        socks[i % len(socks)] = sock(f'10.77.1.{50 + i % 40}')
        socks[i % len(socks)].sendto(req(b'small.bin'), SERVER)
        i += 1
        if i % 50 == 0:
            time.sleep(0.05)
    print(f'flooder sent {i} requests')

def burst():
    import signal
    pid = int(os.environ['SERVER_PID'])
    socks = [sock(f'10.77.1.{50 + i % 40}', 10) for i in range(2000)]
    os.kill(pid, signal.SIGSTOP)
    try:
        for s in socks:
            s.sendto(req(b'small.bin'), SERVER)
    finally:
        os.kill(pid, signal.SIGCONT)
    answered = 0
    for s in socks:
        try:
            s.recvfrom(2048)
            answered += 1
        except socket.timeout:
            pass
    print(f'ok   burst of 2000 requests from 40 addresses: {answered} answered')
    assert answered == 2000, answered

globals()[sys.argv[2]](*[float(a) for a in sys.argv[3:]])
PY

py() { SERVER_PID=$pid ip netns exec "$cns" /usr/bin/python3 "$tmp/flood.py" "$tmp" "$@"; }
c() { (cd "$tmp" && ip netns exec "$cns" "$@"); }
ulimit -n 8192

echo "== netascii of a 16 MiB published kernel, 100 requests"
py netascii_memory || fail "netascii memory"
py netascii_download || fail "netascii download"

echo "== flood from many ports of one address"
py one_address_flood || fail "one-address flood"
c tftp 10.77.1.1 -c get small.bin after_one.bin || fail "tftp-hpa after a one-address flood"
cmp -s "$tmp/root/small.bin" "$tmp/after_one.bin" || fail "tftp-hpa file differs"

echo "== flood from 40 addresses while real clients download"
SERVER_PID=$pid ip netns exec "$cns" /usr/bin/python3 "$tmp/flood.py" "$tmp" flooder 8 &
flood=$!
DL_PIDS+=("$flood")
sleep 2
for i in 1 2 3; do
  c tftp 10.77.1.1 -c get small.bin "hpa$i.bin" || fail "tftp-hpa $i during the flood"
  cmp -s "$tmp/root/small.bin" "$tmp/hpa$i.bin" || fail "tftp-hpa $i file differs"
  c atftp -g -r small.bin -l "at$i.bin" 10.77.1.1 || fail "atftp $i during the flood"
  cmp -s "$tmp/root/small.bin" "$tmp/at$i.bin" || fail "atftp $i file differs"
done
echo "ok   tftp-hpa and atftp got their file 3 times each during the flood"
wait "$flood" || fail "flooder"

echo "== burst of 2000 requests"
sleep 6  # the flood's unacknowledged transfers give up (5 s)
py burst || fail "burst"

kill -0 "$pid" 2>/dev/null || fail "server died"
for what in "transfers already from this address" "unacknowledged transfer for it"; do
  n=$(grep -c "$what" "$tmp/diskless.log" || true)
  [ "$n" -ge 1 ] || fail "no log line for '$what'"
  [ "$n" -le 20 ] || fail "'$what' logged $n times: not rate-limited"
  echo "ok   '$what' logged $n times (rate-limited)"
done
grep "more refusals since\|more since" "$tmp/diskless.log" | tail -2
echo "PASS tftp flood"
