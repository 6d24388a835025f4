#!/usr/bin/python3
"""Sends one iSCSI Login Request (RFC 7143 §11.12) and prints the response's status class and
detail, e.g. "status 0203" for a target that does not exist.

Usage: iscsi_login_probe.py ADDRESS PORT INITIATOR_NAME TARGET_NAME
"""
import socket
import struct
import sys


def main():
    addr, port, initiator, target = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    text = (f"InitiatorName={initiator}\0TargetName={target}\0SessionType=Normal\0"
            "AuthMethod=None\0").encode()
    pad = (4 - len(text) % 4) % 4
    # BHS: opcode 0x43 (immediate Login), T=1 CSG=0 NSG=1, versions 0, data length, ISID, ...
    bhs = struct.pack("!BBBB", 0x43, 0x81, 0, 0) + struct.pack("!I", len(text))
    bhs += bytes([0x80, 0, 0, 0, 0, 1]) + struct.pack("!HIHHII", 0, 1, 0, 0, 1, 0) + b"\0" * 16
    assert len(bhs) == 48
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(bhs + text + b"\0" * pad)
        resp = b""
        while len(resp) < 48:
            chunk = s.recv(48 - len(resp))
            if not chunk:
                break
            resp += chunk
    if len(resp) < 48:
        print("no response")
        return 1
    print(f"status {resp[36]:02x}{resp[37]:02x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
