#!/usr/bin/python3
"""Raw-socket load against the iSCSI target for the limits test (bounded counts, then exits).

  flood.py idle HOST N HOLD        open N TCP connections that never log in; print "open=K"
                                   (K accepted), hold them HOLD s, print "closed_by_server=C"
  flood.py discovery HOST N HOLD   N discovery sessions (AuthMethod=None), then as above
  flood.py reader HOST SESSIONS READS INITIATOR TARGET HOLD
                                   SESSIONS normal sessions with DataDigest=CRC32C each sending
                                   READS 1 MiB READ(10)s (CmdSN ignoring MaxCmdSN) and never
                                   reading the socket; hold HOLD s
  flood.py chap HOST SRC N INITIATOR TARGET USER
                                   N CHAP logins with a wrong secret from address SRC; prints
                                   "auth_failed=A refused=R" (refused: closed with no response)
"""
import select
import socket
import sys
import time


def text(kv):
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in kv)


def login_pdu(kv, transit, csg, nsg, itt, isid=b"\x40\x00\x01\x37\x00\x00"):
    data = text(kv)
    bhs = bytearray(48)
    bhs[0] = 0x43
    bhs[1] = (0x80 if transit else 0) | (csg << 2) | (nsg if transit else 0)
    bhs[5:8] = len(data).to_bytes(3, "big")
    bhs[8:14] = isid
    bhs[16:20] = itt.to_bytes(4, "big")
    bhs[24:28] = (1).to_bytes(4, "big")
    return bytes(bhs) + data + b"\0" * ((-len(data)) % 4)


def recv_pdu(s):
    def exact(n):
        out = b""
        while len(out) < n:
            c = s.recv(n - len(out))
            if not c:
                return None
            out += c
        return out

    bhs = exact(48)
    if bhs is None:
        return None
    dlen = int.from_bytes(bhs[5:8], "big")
    rest = exact(bhs[4] * 4 + dlen + ((-dlen) % 4)) if dlen or bhs[4] else b""
    if rest is None:
        return None
    kv = dict(p.split("=", 1) for p in rest[bhs[4] * 4 : bhs[4] * 4 + dlen].decode().split("\0") if "=" in p)
    return int.from_bytes(bhs[36:38], "big"), kv


def hold(socks, secs):
    print(f"open={len(socks)}", flush=True)
    end = time.time() + secs
    closed = set()
    while time.time() < end and len(closed) < len(socks):
        live = [s for s in socks if s not in closed]
        r, _, _ = select.select(live[:1000], [], [], 0.5)
        for s in r:
            try:
                if not s.recv(4096):
                    closed.add(s)
            except OSError:
                closed.add(s)
    print(f"closed_by_server={len(closed)}", flush=True)


def connect(host, src=None):
    s = socket.socket()
    s.settimeout(10)
    if src:
        s.bind((src, 0))
    s.connect((host, 3260))
    return s


def read10(itt, cmd_sn, lba, blocks):
    bhs = bytearray(48)
    bhs[0] = 0x01
    bhs[1] = 0x80 | 0x40 | 1  # F, R, SIMPLE
    bhs[16:20] = itt.to_bytes(4, "big")
    bhs[20:24] = (blocks * 512).to_bytes(4, "big")
    bhs[24:28] = cmd_sn.to_bytes(4, "big")
    cdb = bytearray(16)
    cdb[0] = 0x28
    cdb[2:6] = lba.to_bytes(4, "big")
    cdb[7:9] = blocks.to_bytes(2, "big")
    bhs[32:48] = cdb
    return bytes(bhs)


def readers(host, sessions, reads, ini, tgt, secs):
    socks = []
    for n in range(sessions):
        s = connect(host)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        isid = b"\x40\x00\x02" + n.to_bytes(2, "big") + b"\x00"
        s.sendall(login_pdu([("InitiatorName", ini), ("TargetName", tgt), ("AuthMethod", "None"),
                             ("HeaderDigest", "None"), ("DataDigest", "CRC32C"),
                             ("MaxRecvDataSegmentLength", "262144")], True, 0, 3, 1, isid))
        r = recv_pdu(s)
        if r is None or r[0] != 0 or r[1].get("DataDigest") != "CRC32C":
            print(f"FAIL: login {n}: {r}", flush=True)
            sys.exit(1)
        socks.append(s)
    s_blocks = 2048  # 1 MiB
    for s in socks:
        s.setblocking(False)
    sent = [0] * len(socks)
    pend = [b""] * len(socks)
    end = time.time() + 20
    while time.time() < end and (min(sent) < reads or any(pend)):
        progress = False
        for k, s in enumerate(socks):
            if not pend[k] and sent[k] < reads:
                pend[k] = read10(0x1000 + sent[k], 1 + sent[k], (sent[k] * s_blocks) % 131072, s_blocks)
                sent[k] += 1
            if not pend[k]:
                continue
            try:
                n = s.send(pend[k])
                pend[k] = pend[k][n:]
                progress = True
            except BlockingIOError:
                pass
        if not progress:
            time.sleep(0.01)
    print(f"sessions={len(socks)} reads_sent={sum(sent)}", flush=True)
    time.sleep(secs)


def main():
    mode, host = sys.argv[1], sys.argv[2]
    if mode == "reader":
        readers(host, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], float(sys.argv[7]))
        return
    if mode in ("idle", "discovery"):
        n, secs = int(sys.argv[3]), float(sys.argv[4])
        socks = []
        for i in range(n):
            try:
                s = connect(host)
                if mode == "discovery":
                    s.sendall(login_pdu([("InitiatorName", f"iqn.2026-11.test:flood{i}"),
                                         ("SessionType", "Discovery"), ("AuthMethod", "None")],
                                        True, 0, 3, i))
                    r = recv_pdu(s)
                    if r is None or r[0] != 0:
                        s.close()
                        continue
                socks.append(s)
            except OSError:
                pass
        hold(socks, secs)
        return
    src, n, ini, tgt, user = sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7]
    failed = refused = 0
    for i in range(n):
        try:
            s = connect(host, src)
            s.sendall(login_pdu([("InitiatorName", ini), ("TargetName", tgt), ("AuthMethod", "CHAP")],
                                False, 0, 1, i))
            r = recv_pdu(s)
            if r is None:
                refused += 1
                continue
            s.sendall(login_pdu([("CHAP_A", "5")], False, 0, 1, i))
            r = recv_pdu(s)
            if r is None or "CHAP_C" not in r[1]:
                refused += 1
                continue
            s.sendall(login_pdu([("CHAP_N", user), ("CHAP_R", "0x" + "00" * 16)], True, 0, 1, i))
            r = recv_pdu(s)
            if r is not None and r[0] == 0x0201:
                failed += 1
            else:
                refused += 1
            s.close()
        except OSError:
            refused += 1
    print(f"auth_failed={failed} refused={refused}", flush=True)


main()
