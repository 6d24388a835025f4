#!/usr/bin/python3
"""Plays the first stage of a BIOS PXE ROM (PXE spec 2.1): broadcasts a DHCPDISCOVER with
option 60 "PXEClient:Arch:00000:UNDI:002001", option 93 = 0 and no iPXE user class, and prints
the OFFER's boot file, next server and whether option 43 (PXE vendor options) is present.

Usage: pxe_probe.py IFACE MAC EXPECTED_FILE    exit 0 when the offer names EXPECTED_FILE
"""
import random
import sys

import time

from scapy.all import BOOTP, DHCP, IP, UDP, AsyncSniffer, Ether, conf, sendp


def main():
    iface, mac, want = sys.argv[1], sys.argv[2], sys.argv[3]
    conf.checkIPaddr = False
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\0" * 10
    xid = random.getrandbits(32)
    pkt = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
           UDP(sport=68, dport=67) / BOOTP(chaddr=chaddr, xid=xid, flags=0x8000) /
           DHCP(options=[("message-type", "discover"),
                         ("vendor_class_id", b"PXEClient:Arch:00000:UNDI:002001"),
                         (93, b"\x00\x00"), (94, b"\x01\x02\x01"),
                         ("param_req_list", [1, 3, 43, 60, 66, 67]), "end"]))
    reply = None
    for _ in range(3):
        sniffer = AsyncSniffer(iface=iface, count=1, timeout=3, store=True,
                               lfilter=lambda p: BOOTP in p and p[BOOTP].xid == xid
                               and p[BOOTP].op == 2)
        sniffer.start()
        time.sleep(0.3)
        sendp(pkt, iface=iface, verbose=False)
        sniffer.join()
        if sniffer.results:
            reply = sniffer.results[0]
            break
    if reply is None:
        print("no OFFER")
        return 1
    opts = {o[0]: o[1] for o in reply[DHCP].options if isinstance(o, tuple)}
    bootfile = reply[BOOTP].file.rstrip(b"\0").decode(errors="replace")
    print(f"file={bootfile} siaddr={reply[BOOTP].siaddr} "
          f"option43={'vendor_specific' in opts} option60={opts.get('vendor_class_id')}")
    return 0 if bootfile == want else 1


if __name__ == "__main__":
    sys.exit(main())
