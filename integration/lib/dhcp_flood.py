#!/usr/bin/python3
"""Sends DHCPDISCOVERs with made-up client MACs (chaddr) from a plain UDP socket on port 68, as a
LAN flood or a repeated unknown PC would, and counts the OFFERs that come back. No raw sockets:
the server keys clients by chaddr, so one socket can play any number of MACs.

Usage: dhcp_flood.py IFACE FIRST_MAC COUNT [REPEAT] [pxe]
  COUNT distinct MACs from FIRST_MAC upward, each sending REPEAT DISCOVERs (default 1); with
  "pxe" they carry option 60 PXEClient. Prints "sent N offers M".
"""
import random
import socket
import struct
import sys
import time


def discover(chaddr, xid, pxe):
    hdr = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                      b"\0" * 4, b"\0" * 4, b"\0" * 4, chaddr + b"\0" * 10, b"", b"")
    opts = b"\x63\x82\x53\x63" + b"\x35\x01\x01"
    if pxe:
        vc = b"PXEClient:Arch:00000:UNDI:002001"
        opts += bytes([60, len(vc)]) + vc + b"\x5d\x02\x00\x00"
    return hdr + opts + b"\xff"


def main():
    iface, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    pxe = len(sys.argv) > 5 and sys.argv[5] == "pxe"
    base = int(first.replace(":", ""), 16)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
    s.bind(("0.0.0.0", 68))
    s.settimeout(0.05)
    xids, offers, sent = set(), 0, 0
    for i in range(count):
        chaddr = (base + i).to_bytes(6, "big")
        for _ in range(repeat):
            xid = random.getrandbits(32)
            xids.add(xid)
            s.sendto(discover(chaddr, xid, pxe), ("255.255.255.255", 67))
            sent += 1
            try:  # drain what has come back so far (bounded: one read per send)
                data = s.recv(2048)
                if len(data) > 240 and data[0] == 2 and struct.unpack("!I", data[4:8])[0] in xids:
                    offers += 1
            except socket.timeout:
                pass
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            data = s.recv(2048)
            if len(data) > 240 and data[0] == 2 and struct.unpack("!I", data[4:8])[0] in xids:
                offers += 1
        except socket.timeout:
            pass
    print(f"sent {sent} offers {offers}")


if __name__ == "__main__":
    main()
