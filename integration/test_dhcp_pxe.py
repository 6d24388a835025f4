#!/usr/bin/python3
"""DHCP end to end with PXE-shaped clients (scapy-built frames on raw sockets), in namespaces
this test creates: a switch namespace (bridge) with ports to the server, clients, dnsmasq and a
relay. Usage: test_dhcp_pxe.py /path/to/diskless

1. full mode, 50 clients: DORA, then the server is killed (SIGKILL: ACKs are only sent after the
   lease is on disk) and restarted; every client gets the same address back, no duplicates.
2. full mode through a relay (giaddr): the answer goes to giaddr:67, from the relay's subnet.
3. proxy mode beside dnsmasq (the LAN's plain DHCP server, no PXE): PXE clients (BIOS, UEFI,
   iPXE) get boot info from us and addresses from dnsmasq; port 4011 answers UEFI; non-PXE and
   unknown clients are left alone by us.
"""
import ctypes
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from scapy.all import BOOTP, DHCP, IP, UDP, Ether  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
TAG = f"dldhcp{os.getpid() % 100000}"
NS_SW, NS_SRV, NS_CL, NS_DNS, NS_RLY = (f"{TAG}w", f"{TAG}s", f"{TAG}c", f"{TAG}d", f"{TAG}r")
SERVER = "10.77.2.1"
TMP = tempfile.mkdtemp(prefix="dldhcp-pxe.")
PROCS = []
FAILS = []
libc = ctypes.CDLL("libc.so.6", use_errno=True)
ROOT_NS = os.open("/proc/self/ns/net", os.O_RDONLY)


def sh(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def nsx(ns, *args, check=True):
    return sh("ip", "netns", "exec", ns, *args, check=check)


def enter(ns):
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY) if ns else ROOT_NS
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")
    if ns:
        os.close(fd)


def cleanup():
    enter(None)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    for ns in (NS_SW, NS_SRV, NS_CL, NS_DNS, NS_RLY):
        sh("ip", "netns", "del", ns, check=False)
    if FAILS and os.environ.get("DL_KEEP_LOGS"):
        print("logs kept in", TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


def setup_net():
    for ns in (NS_SW, NS_SRV, NS_CL, NS_DNS, NS_RLY):
        sh("ip", "netns", "add", ns)
        nsx(ns, "ip", "link", "set", "lo", "up")
    nsx(NS_SW, "ip", "link", "add", "br0", "type", "bridge", "forward_delay", "0", "stp_state", "0")
    nsx(NS_SW, "ip", "link", "set", "br0", "up")
    ports = [(NS_SRV, "lan0", "10.77.2.1/24"), (NS_CL, "cl0", None),
             (NS_DNS, "dns0", "10.77.2.2/24"), (NS_RLY, "rly0", "10.77.2.3/24")]
    for i, (ns, name, addr) in enumerate(ports):
        nsx(NS_SW, "ip", "link", "add", f"p{i}", "type", "veth", "peer", "name", name)
        nsx(NS_SW, "ip", "link", "set", name, "netns", ns)
        nsx(NS_SW, "ip", "link", "set", f"p{i}", "master", "br0", "up")
        nsx(ns, "ip", "link", "set", name, "up")
        if addr:
            nsx(ns, "ip", "addr", "add", addr, "dev", name)
    # The relay's other side: 10.77.3.0/24 (a veth pair inside the relay namespace), reachable
    # from the server through the relay.
    nsx(NS_RLY, "ip", "link", "add", "rlyin", "type", "veth", "peer", "name", "rlyin2")
    nsx(NS_RLY, "ip", "addr", "add", "10.77.3.1/24", "dev", "rlyin")
    nsx(NS_RLY, "ip", "link", "set", "rlyin", "up")
    nsx(NS_RLY, "ip", "link", "set", "rlyin2", "up")
    nsx(NS_SRV, "ip", "route", "add", "10.77.3.0/24", "via", "10.77.2.3")


def inventory(mode, dhcp_attrs, unknown, hosts):
    path = os.path.join(TMP, f"inv-{mode}.xml")
    with open(path, "w") as f:
        f.write(f"""<diskless version="1">
  <server address="{SERVER}" interface="lan0">
    <dhcp mode="{mode}" {dhcp_attrs}/>
    <tftp root="tftp" port="6969"/>
    <iscsi port="13260"/>
    <http port="18080" enabled="false"/>
    <state dir="state"/>
  </server>
  <images/>
  <hosts unknown="{unknown}">
{hosts}
  </hosts>
</diskless>
""")
    return path


def wait_port(ns, port):
    for _ in range(100):
        if nsx(ns, "ss", "-Hlnu", f"sport = :{port}").stdout.strip():
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing on udp {port} in {ns}")


def start_server(inv, name):
    os.makedirs(os.path.join(TMP, "tftp"), exist_ok=True)
    log = open(os.path.join(TMP, f"{name}.log"), "w")
    p = subprocess.Popen(["ip", "netns", "exec", NS_SRV, BIN, "-c", inv, "--log-level", "debug",
                          "serve"], cwd=TMP, stdout=log, stderr=subprocess.STDOUT)
    PROCS.append(p)
    wait_port(NS_SRV, 67)
    wait_port(NS_SRV, 4011)
    return p


def stop(p, sig=signal.SIGTERM):
    p.send_signal(sig)
    p.wait(timeout=10)


class client:
    """A DHCP client in NS_CL: frames out through AF_PACKET, replies in on UDP 68."""

    def __init__(self, iface="cl0"):
        enter(NS_CL)
        self.iface = iface
        self.raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        self.raw.bind((iface, 0))
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self.udp.setsockopt(socket.SOL_SOCKET, 25, iface.encode())  # SO_BINDTODEVICE
        self.udp.bind(("0.0.0.0", 68))
        enter(None)

    def send(self, mac, xid, opts, ciaddr="0.0.0.0"):
        frame = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
                 IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                 BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=xid, flags=0x8000,
                       ciaddr=ciaddr) / DHCP(options=opts + ["end"]))
        self.raw.send(bytes(frame))

    def collect(self, xid, timeout=1.5, want=None):
        """Replies with this xid until timeout (or until `want` of them arrived)."""
        out = []
        end = time.time() + timeout
        while time.time() < end and (want is None or len(out) < want):
            r, _, _ = select.select([self.udp], [], [], max(0, end - time.time()))
            if not r:
                break
            data, _ = self.udp.recvfrom(4096)
            b = BOOTP(data)
            if b.xid == xid:
                out.append(b)
        return out


def opt(b, name):
    if DHCP not in b:
        return None
    for o in b[DHCP].options:
        if isinstance(o, tuple) and o[0] == name:
            return o[1]
    return None


def mtype(b):
    return opt(b, "message-type")


def fname(b):
    return b.file.rstrip(b"\0").decode()


def dora(c, mac, extra=()):
    xid = random.getrandbits(32)
    for _ in range(3):
        c.send(mac, xid, [("message-type", "discover")] + list(extra))
        offers = [o for o in c.collect(xid, 1.0, want=1) if mtype(o) == 2]
        if offers:
            break
    else:
        return None, None
    o = offers[0]
    xid2 = random.getrandbits(32)
    for _ in range(3):
        c.send(mac, xid2, [("message-type", "request"), ("server_id", opt(o, "server_id")),
                           ("requested_addr", o.yiaddr)] + list(extra))
        acks = [a for a in c.collect(xid2, 1.0, want=1) if mtype(a) in (5, 6)]
        if acks:
            return o, acks[0]
    return o, None


def test_restart():
    print("== full mode: 50 clients, SIGKILL, restart", flush=True)
    inv = inventory("full", 'range="10.77.2.100-10.77.2.199" netmask="255.255.255.0" '
                    'router="10.77.2.1" lease-time="1h"', "local", "")
    srv = start_server(inv, "full1")
    c = client()
    macs = [f"52:54:00:77:{i // 256:02x}:{i % 256:02x}" for i in range(50)]
    first = {}
    for m in macs:
        _, a = dora(c, m)
        first[m] = a.yiaddr if a is not None and mtype(a) == 5 else None
    check(all(first.values()), "all 50 clients got an ACK")
    check(len(set(first.values())) == 50, "50 distinct addresses")
    check(all(v and v.startswith("10.77.2.") and 100 <= int(v.split(".")[3]) <= 199
              for v in first.values()), "addresses from the pool")
    stop(srv, signal.SIGKILL)
    journal = open(os.path.join(TMP, "state", "dhcp-leases.journal")).read()
    check(all(m in journal for m in macs), "journal holds every MAC after SIGKILL")
    srv = start_server(inv, "full2")
    second = {}
    for m in reversed(macs):  # another order: allocation order must not matter
        _, a = dora(c, m)
        second[m] = a.yiaddr if a is not None and mtype(a) == 5 else None
    check(second == first, "after restart every client has the same address")
    check(len(set(second.values())) == 50, "no duplicates after restart")
    # A newcomer gets none of the 50 addresses.
    _, a = dora(c, "52:54:00:77:99:99")
    check(a is not None and a.yiaddr not in set(first.values()), "a new client gets a new address")
    stop(srv)


def relay_discover(giaddr, mac, pxe):
    """Sends a DISCOVER as a relay would (from the relay namespace, port 67, giaddr set) and
    returns the reply that came back to the relay's port 67."""
    enter(NS_RLY)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 67))
    enter(None)
    xid = random.getrandbits(32)
    opts = [("message-type", "discover")]
    if pxe:
        opts += [("vendor_class_id", b"PXEClient:Arch:00000:UNDI:002001"),
                 ("pxe_client_architecture", b"\x00\x00")]
    pkt = BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=xid, giaddr=giaddr, hops=1) \
        / DHCP(options=opts + ["end"])
    got = None
    for _ in range(3):
        s.sendto(bytes(pkt), (SERVER, 67))
        r, _, _ = select.select([s], [], [], 1.5)
        if r:
            b = BOOTP(s.recvfrom(4096)[0])
            if b.xid == xid:
                got = b
                break
    s.close()
    return got


def test_relay():
    # The inventory validator keeps a full-mode pool inside the server's subnet, so the relay
    # for full mode sits on that subnet (giaddr 10.77.2.3); proxy mode needs no pool and is
    # relayed from another subnet (giaddr 10.77.3.1, routed through the relay namespace).
    print("== full mode through a relay (giaddr)", flush=True)
    inv = inventory("full", 'range="10.77.2.160-10.77.2.199" netmask="255.255.255.0"', "local", "")
    srv = start_server(inv, "relay-full")
    got = relay_discover("10.77.2.3", "52:54:00:33:00:01", pxe=False)
    check(got is not None and mtype(got) == 2, "relayed DISCOVER: OFFER sent to giaddr:67")
    if got is not None:
        check(got.yiaddr.startswith("10.77.2.1") and int(got.yiaddr.split(".")[3]) >= 160, f"address from the pool ({got.yiaddr})")
        check(got.giaddr == "10.77.2.3", "giaddr kept")
        check(opt(got, "router") == "10.77.2.3", "router = the relay when none is configured")
    stop(srv)
    print("== proxy mode through a relay from another subnet", flush=True)
    inv = inventory("proxy", "", "local", "")
    srv = start_server(inv, "relay-proxy")
    got = relay_discover("10.77.3.1", "52:54:00:33:00:02", pxe=True)
    check(got is not None and mtype(got) == 2 and got.giaddr == "10.77.3.1",
          "relayed PXE DISCOVER (proxy): OFFER to giaddr 10.77.3.1:67")
    if got is not None:
        check(fname(got) == "undionly.kpxe" and got.yiaddr == "0.0.0.0", "proxy offer with boot file")
    stop(srv)


def test_proxy():
    print("== proxy mode beside dnsmasq", flush=True)
    leasefile = os.path.join(TMP, "dnsmasq.leases")
    dns = subprocess.Popen(["ip", "netns", "exec", NS_DNS, "dnsmasq", "--no-daemon", "--port=0",
                            "--conf-file=/dev/null", "--interface=dns0", "--bind-interfaces",
                            "--dhcp-range=10.77.2.150,10.77.2.199,255.255.255.0,1h",
                            f"--dhcp-leasefile={leasefile}", "--no-ping", "--pid-file",
                            "--log-dhcp"], stdout=open(os.path.join(TMP, "dnsmasq.log"), "w"),
                           stderr=subprocess.STDOUT)
    PROCS.append(dns)
    wait_port(NS_DNS, 67)
    hosts = "\n".join(f'<host mac="52:54:00:44:00:0{i}" name="pc{i}" boot="local"/>' for i in range(1, 6))
    inv = inventory("proxy", "", "ignore", hosts)
    srv = start_server(inv, "proxy")
    c = client()
    guid = b"\x00" + bytes(range(16))

    def discover(mac, arch=None, ipxe=False, pxe=True):
        xid = random.getrandbits(32)
        opts = [("message-type", "discover")]
        if pxe:
            opts += [("vendor_class_id", f"PXEClient:Arch:{arch or 0:05d}:UNDI:002001".encode()),
                     ("pxe_client_machine_identifier", guid)]
        if arch is not None:
            opts.append(("pxe_client_architecture", struct.pack("!H", arch)))
        if ipxe:
            opts += [("user_class", b"iPXE"), (175, b"\xb1\x05\x01\x80\x86\x10\x0e")]
        c.send(mac, xid, opts)
        replies = c.collect(xid, 2.0)
        ours = [r for r in replies if opt(r, "server_id") == SERVER]
        theirs = [r for r in replies if opt(r, "server_id") == "10.77.2.2"]
        return ours, theirs

    ours, theirs = discover("52:54:00:44:00:01", arch=0)
    check(len(theirs) == 1 and theirs[0].yiaddr.startswith("10.77.2."), "BIOS: dnsmasq offers an address")
    check(len(ours) == 1, "BIOS: one proxy offer from us")
    if ours:
        o = ours[0]
        check(o.yiaddr == "0.0.0.0" and mtype(o) == 2, "BIOS: proxy offer has yiaddr 0")
        check(fname(o) == "undionly.kpxe" and o.siaddr == SERVER, "BIOS: undionly.kpxe from us")
        check(opt(o, "vendor_class_id") == b"PXEClient", "BIOS: option 60 PXEClient")
        check(opt(o, "vendor_specific") == b"\x06\x01\x08\xff", "BIOS: option 43 6=8")
        check(opt(o, "pxe_client_machine_identifier") == guid, "BIOS: GUID echoed")
    ours, theirs = discover("52:54:00:44:00:02", arch=7)
    check(len(theirs) == 1, "UEFI: dnsmasq offers an address")
    check(len(ours) == 1 and fname(ours[0]) == "snponly.efi" and opt(ours[0], "vendor_specific") is None,
          "UEFI: snponly.efi, no option 43")
    # The UEFI firmware takes dnsmasq's address and asks us on port 4011.
    if theirs:
        mac = "52:54:00:44:00:02"
        addr = theirs[0].yiaddr
        nsx(NS_CL, "ip", "addr", "add", f"{addr}/24", "dev", "cl0")
        enter(NS_CL)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, 4011))
        enter(None)
        req = BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")), xid=0x4011, ciaddr=addr) / DHCP(
            options=[("message-type", "request"), ("vendor_class_id", b"PXEClient:Arch:00007:UNDI:003016"),
                     ("pxe_client_architecture", b"\x00\x07"), "end"])
        got = None
        for _ in range(3):
            u.sendto(bytes(req), (SERVER, 4011))
            r, _, _ = select.select([u], [], [], 1.5)
            if r:
                got = BOOTP(u.recvfrom(4096)[0])
                break
        check(got is not None and mtype(got) == 5 and fname(got) == "snponly.efi",
              "UEFI: port 4011 REQUEST answered with an ACK carrying snponly.efi")
        u.close()
        nsx(NS_CL, "ip", "addr", "flush", "dev", "cl0")
    ours, _ = discover("52:54:00:44:00:03", arch=0, ipxe=True)
    check(len(ours) == 1 and fname(ours[0]) == "boot/52-54-00-44-00-03.ipxe",
          "iPXE: per-host script")
    if ours:
        check(opt(ours[0], 175) is None, "iPXE: no no-pxedhcp in proxy mode")
    ours, theirs = discover("52:54:00:44:00:04", pxe=False)
    check(not ours and len(theirs) == 1, "non-PXE client: only dnsmasq answers")
    ours, theirs = discover("52:54:00:55:55:55", arch=0)
    check(not ours and len(theirs) == 1, "unknown MAC (policy ignore): only dnsmasq answers")
    # The host is added to the inventory and the server reloads (SIGHUP): now it is answered.
    inventory("proxy", "", "ignore", hosts + '\n<host mac="52:54:00:55:55:55" name="pc9" boot="local"/>')
    srv.send_signal(signal.SIGHUP)
    ours = []
    for _ in range(10):
        ours, _ = discover("52:54:00:55:55:55", arch=0)
        if ours:
            break
    check(len(ours) == 1 and fname(ours[0]) == "undionly.kpxe", "after reload the new host is answered")
    # Full DORA for the BIOS client with dnsmasq: the REQUEST is answered by dnsmasq only.
    c2 = c
    xid = random.getrandbits(32)
    ours, theirs = discover("52:54:00:44:00:05", arch=0)
    if theirs:
        c2.send("52:54:00:44:00:05", xid, [("message-type", "request"), ("server_id", "10.77.2.2"),
                                           ("requested_addr", theirs[0].yiaddr),
                                           ("vendor_class_id", b"PXEClient:Arch:00000:UNDI:002001")])
        acks = c2.collect(xid, 2.0)
        check(len(acks) == 1 and opt(acks[0], "server_id") == "10.77.2.2" and mtype(acks[0]) == 5,
              "REQUEST to dnsmasq: ACK from dnsmasq, nothing from us")
    stop(srv)
    stop(dns)


def main():
    if os.geteuid() != 0:
        print("needs root")
        return 1
    try:
        setup_net()
        test_restart()
        test_relay()
        test_proxy()
    except Exception as e:  # a broken step is a failure, with cleanup
        import traceback
        traceback.print_exc()
        FAILS.append(str(e))
    finally:
        if FAILS:
            for name in os.listdir(TMP):
                if name.endswith(".log"):
                    print(f"---- {name}")
                    print("".join(open(os.path.join(TMP, name)).readlines()[-30:]))
        cleanup()
    print("FAILED: " + "; ".join(FAILS) if FAILS else "PASS")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
