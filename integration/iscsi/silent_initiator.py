#!/usr/bin/python3
"""An initiator that, like iPXE, never answers the target's NOP-In pings (RFC 7143 §11.19).

Logs in (AuthMethod=None), reads until it has seen PINGS NOP-In pings (TTT != ffffffff) without
answering any, then checks that the session is still up: a NOP-Out ping of its own, a TEST UNIT
READY and a Logout must all be answered. Prints "pings=N" and exits 0 on success.
Usage: silent_initiator.py HOST PORT INITIATOR TARGET [PINGS]
"""
import socket
import struct
import sys

RESERVED = 0xFFFFFFFF


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=120)
        self.exp_stat_sn = 0
        self.cmd_sn = 1

    def send(self, bhs, data=b""):
        assert len(bhs) == 48
        bhs = bytearray(bhs)
        bhs[5:8] = len(data).to_bytes(3, "big")
        pad = (-len(data)) % 4
        self.s.sendall(bytes(bhs) + data + b"\0" * pad)

    def recv_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                fail("connection closed by the target")
            out += chunk
        return out

    def recv(self):
        bhs = self.recv_exact(48)
        ahs = bhs[4] * 4
        dlen = int.from_bytes(bhs[5:8], "big")
        rest = self.recv_exact(ahs + dlen + ((-dlen) % 4))
        data = rest[ahs : ahs + dlen]
        op = bhs[0] & 0x3F
        # StatSN advances on responses that carry status (not on NOP-In pings, §11.19.1).
        itt = struct.unpack(">I", bhs[16:20])[0]
        if op in (0x21, 0x23, 0x26) or (op == 0x20 and itt != RESERVED):
            self.exp_stat_sn = struct.unpack(">I", bhs[24:28])[0] + 1
        return op, bhs, data


def keys(**kv):
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in kv.items())


def login(c, initiator, target):
    isid = bytes([0x80, 0x12, 0x34, 0x56, 0x00, 0x01])
    stage = 0
    tsih = 0
    while True:
        if stage == 0:
            data = keys(InitiatorName=initiator, TargetName=target, SessionType="Normal",
                        AuthMethod="None")
        else:
            data = keys(HeaderDigest="None", DataDigest="None", MaxRecvDataSegmentLength=8192,
                        InitialR2T="Yes", ImmediateData="No", ErrorRecoveryLevel=0)
        bhs = bytearray(48)
        bhs[0] = 0x43  # immediate Login Request
        bhs[1] = 0x80 | (stage << 2) | 3  # T=1, CSG=stage, NSG=3 (full feature phase)
        bhs[8:14] = isid
        bhs[14:16] = tsih.to_bytes(2, "big")
        bhs[16:20] = (0x100 + stage).to_bytes(4, "big")
        bhs[24:28] = c.cmd_sn.to_bytes(4, "big")
        bhs[28:32] = c.exp_stat_sn.to_bytes(4, "big")
        c.send(bhs, data)
        op, r, _ = c.recv()
        if op != 0x23:
            fail(f"expected a Login Response, got opcode {op:#x}")
        if r[36] != 0:
            fail(f"login refused: status {r[36]:02x}/{r[37]:02x}")
        c.exp_stat_sn = struct.unpack(">I", r[24:28])[0] + 1
        tsih = struct.unpack(">H", r[14:16])[0]
        transit, nsg = r[1] & 0x80, r[1] & 3
        if transit and nsg == 3:
            c.cmd_sn = struct.unpack(">I", r[28:32])[0]  # ExpCmdSN
            return
        if transit:
            stage = nsg


def main():
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, initiator, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    want = int(sys.argv[5]) if len(sys.argv) == 6 else 3
    c = Conn(host, port)
    login(c, initiator, target)

    pings = 0
    while pings < want:
        op, bhs, _ = c.recv()
        if op == 0x20 and struct.unpack(">I", bhs[20:24])[0] != RESERVED:
            pings += 1  # never answered

    def expect(itt, opcode):
        while True:
            op, bhs, data = c.recv()
            if op == 0x20 and struct.unpack(">I", bhs[20:24])[0] != RESERVED:
                continue  # another ping, still not answered
            if op != opcode or struct.unpack(">I", bhs[16:20])[0] != itt:
                fail(f"expected opcode {opcode:#x} for ITT {itt:#x}, got {op:#x}")
            return bhs, data

    # Our own ping (immediate NOP-Out, §11.18) comes back with its data.
    bhs = bytearray(48)
    bhs[0] = 0x40
    bhs[1] = 0x80
    bhs[16:20] = (0x10).to_bytes(4, "big")
    bhs[20:24] = RESERVED.to_bytes(4, "big")
    bhs[24:28] = c.cmd_sn.to_bytes(4, "big")
    bhs[28:32] = c.exp_stat_sn.to_bytes(4, "big")
    c.send(bhs, b"ping")
    _, data = expect(0x10, 0x20)
    if data != b"ping":
        fail("NOP-In did not echo the ping data")

    # TEST UNIT READY (§11.3): GOOD.
    bhs = bytearray(48)
    bhs[0] = 0x01
    bhs[1] = 0x81  # F, simple task attribute
    bhs[16:20] = (0x11).to_bytes(4, "big")
    bhs[24:28] = c.cmd_sn.to_bytes(4, "big")
    bhs[28:32] = c.exp_stat_sn.to_bytes(4, "big")
    c.send(bhs)
    c.cmd_sn += 1
    r, _ = expect(0x11, 0x21)
    if r[2] != 0 or r[3] != 0:
        fail(f"TEST UNIT READY: response {r[2]:#x}, status {r[3]:#x}")

    # Logout, close the session (§11.14).
    bhs = bytearray(48)
    bhs[0] = 0x46
    bhs[1] = 0x80
    bhs[16:20] = (0x12).to_bytes(4, "big")
    bhs[24:28] = c.cmd_sn.to_bytes(4, "big")
    bhs[28:32] = c.exp_stat_sn.to_bytes(4, "big")
    c.send(bhs)
    r, _ = expect(0x12, 0x26)
    if r[2] != 0:
        fail(f"logout response {r[2]}")
    print(f"pings={pings}")


if __name__ == "__main__":
    main()
