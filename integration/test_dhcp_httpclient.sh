#!/usr/bin/env bash
# UEFI HTTP Boot clients (option 60 "HTTPClient:Arch:00016", option 93 = 16): diskless answers
# (full mode, and proxy mode) with "HTTPClient" in option 60 and an http:// URL of the EFI
# iPXE in the file field (UEFI 2.9 §24.7.2); the URL is fetched with curl from the client side
# and must be /usr/lib/ipxe/snponly.efi byte for byte. With HTTP off there is no answer.
# (No firmware run: OVMF tries PXE before HTTP Boot, which would take minutes of timeouts.)
# Usage: test_dhcp_httpclient.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
dl_init dlhttpc
dl_net 0
client="$DL_NS-c"
trap 'ip netns del "$client" 2>/dev/null; dl_cleanup' EXIT
ip netns add "$client"
x="ip netns exec $DL_NS"
$x ip link add veth0 type veth peer name veth1
$x ip link set veth0 master br0 up
$x ip link set veth1 netns "$client"
ip netns exec "$client" ip link set lo up
ip netns exec "$client" ip link set veth1 up
ip netns exec "$client" ip addr add 10.77.0.250/24 dev veth1
mac=52:54:00:c1:00:01

probe() {  # prints "file=... vc=..." of the OFFER, or "no OFFER"
  ip netns exec "$client" /usr/bin/python3 - "$mac" <<'PY'
import random, sys, time
from scapy.all import BOOTP, DHCP, IP, UDP, AsyncSniffer, Ether, conf, sendp
mac = sys.argv[1]
conf.checkIPaddr = False
xid = random.getrandbits(32)
pkt = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
       UDP(sport=68, dport=67) /
       BOOTP(chaddr=bytes.fromhex(mac.replace(":", "")) + b"\0" * 10, xid=xid, flags=0x8000) /
       DHCP(options=[("message-type", "discover"),
                     ("vendor_class_id", b"HTTPClient:Arch:00016:UNDI:003001"),
                     (93, b"\x00\x10"), (94, b"\x01\x03\x00"),
                     ("param_req_list", [1, 3, 6, 60, 66, 67]), "end"]))
for _ in range(3):
    s = AsyncSniffer(iface="veth1", count=1, timeout=3,
                     lfilter=lambda p: BOOTP in p and p[BOOTP].xid == xid and p[BOOTP].op == 2)
    s.start(); time.sleep(0.3); sendp(pkt, iface="veth1", verbose=False); s.join()
    if s.results:
        r = s.results[0]
        opts = {o[0]: o[1] for o in r[DHCP].options if isinstance(o, tuple)}
        print("file=%s vc=%s yiaddr=%s" % (r[BOOTP].file.rstrip(b"\0").decode(),
              opts.get("vendor_class_id", b"").decode(), r[BOOTP].yiaddr))
        sys.exit(0)
print("no OFFER")
PY
}

for mode in full proxy; do
  dl_inventory "$DL_TMP/diskless.xml" "$mode" ignore '<image name="u" disk="u.img"/>' \
    "<host mac=\"$mac\" name=\"pc9\" image=\"u\" boot=\"sanboot\"/>"
  truncate -s 1M "$DL_TMP/u.img"
  grep -q '<http port="8080" enabled="true"/>' "$DL_TMP/diskless.xml" || dl_fail "HTTP is not on"
  dl_serve "$bin" "$DL_TMP/diskless.xml"
  dl_wait_port tcp 8080
  got=$(probe)
  echo "$mode: $got" >&2
  want="file=http://$DL_SERVER:8080/ipxe/snponly.efi vc=HTTPClient"
  [[ "$got" == "$want"* ]] || dl_fail "$mode: HTTPClient offer is '$got', want '$want ...'"
  url=${got#file=}
  url=${url%% *}
  ip netns exec "$client" curl -sS -o "$DL_TMP/loader.efi" "$url" || dl_fail "$mode: curl $url"
  cmp -s "$DL_TMP/loader.efi" /usr/lib/ipxe/snponly.efi || dl_fail "$mode: $url is not snponly.efi"
  dl_kill "$DL_DISKLESS_PID"
  mv "$DL_TMP/diskless.log" "$DL_TMP/diskless-$mode.log"
done

# HTTP off: no answer, and the log says why.
DL_HTTP=off dl_inventory "$DL_TMP/diskless.xml" full ignore '<image name="u" disk="u.img"/>' \
  "<host mac=\"$mac\" name=\"pc9\" image=\"u\" boot=\"sanboot\"/>"
dl_serve "$bin" "$DL_TMP/diskless.xml"
got=$(probe)
[ "$got" = "no OFFER" ] || dl_fail "HTTP off: got '$got'"
grep -q "needs <http enabled" "$DL_TMP/diskless.log" || dl_fail "HTTP off: no reason logged"
echo "PASS UEFI HTTP Boot clients: http:// URL of snponly.efi in full and proxy mode, served by our HTTP; ignored with HTTP off"
