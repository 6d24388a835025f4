#!/usr/bin/env bash
# IPv6 Router Advertisements (dhcp/ndp.hpp) against a real peer: rdisc6 (ndisc6) in a client
# namespace behind the bridge sends Router Solicitations and must get our RA (RFC 4861 §4.2):
# hop limit 255 (rdisc6 drops anything else), router lifetime 0, M/O clear, no prefix, our MAC
# as source link-layer address. A solicitation with hop limit 64 (§6.1.1) is dropped and logged.
# With ra="off" the service stays closed.
# Usage: test_dhcp_ra.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/diskless.sh"
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
command -v rdisc6 >/dev/null || dl_fail "rdisc6 missing (apt-get install ndisc6)"
dl_init dlra
dl_net 0
client="$DL_NS-c"
cleanup_client() { ip netns del "$client" 2>/dev/null || true; }
trap 'cleanup_client; dl_cleanup' EXIT
ip netns add "$client"
x="ip netns exec $DL_NS"
$x ip link add veth0 type veth peer name veth1
$x ip link set veth0 master br0 up
$x ip link set veth1 netns "$client"
ip netns exec "$client" sysctl -qw net.ipv6.conf.veth1.accept_dad=0
ip netns exec "$client" ip link set lo up
ip netns exec "$client" ip link set veth1 up
server_mac=$($x cat /sys/class/net/br0/address)

dl_inventory "$DL_TMP/diskless.xml" full ignore "" ""
dl_serve "$bin" "$DL_TMP/diskless.xml"
for i in $(seq 1 50); do
  grep -q "IPv6 router advertisements on br0" "$DL_TMP/diskless.log" && break
  sleep 0.1
done
grep -q "IPv6 router advertisements on br0" "$DL_TMP/diskless.log" || dl_fail "RA service not started"

# rdisc6 retries 3 times, 1 s apart, and prints the first RA (our random delay is <= 0.5 s).
ip netns exec "$client" rdisc6 -r 5 -w 2000 veth1 >"$DL_TMP/rdisc6.out" 2>&1 || {
  cat "$DL_TMP/rdisc6.out" >&2
  dl_show_diskless_log
  dl_fail "rdisc6 got no router advertisement"
}
cat "$DL_TMP/rdisc6.out" >&2
out=$(cat "$DL_TMP/rdisc6.out")
grep -q "Router lifetime *: *0 " <<<"$out" || dl_fail "router lifetime is not 0"
grep -q "Stateful address conf\. *: *No" <<<"$out" || dl_fail "M flag set"
grep -q "Stateful other conf\. *: *No" <<<"$out" || dl_fail "O flag set"
grep -qi "Source link-layer address: *$server_mac" <<<"$out" || dl_fail "source link-layer address is not $server_mac"
! grep -q "Prefix" <<<"$out" || dl_fail "a prefix was advertised"
grep -q "from fe80::" <<<"$out" || dl_fail "the RA did not come from a link-local address"
grep -q "ra: router solicitation from fe80::" "$DL_TMP/diskless.log" || dl_fail "RS not logged"

# A forged solicitation with hop limit 64: dropped and logged (RFC 4861 §6.1.1).
ip netns exec "$client" /usr/bin/python3 - <<'PY'
from scapy.all import IPv6, ICMPv6ND_RS, Ether, sendp, get_if_hwaddr
mac = get_if_hwaddr("veth1")
sendp(Ether(src=mac, dst="33:33:00:00:00:02") /
      IPv6(src="fe80::99", dst="ff02::2", hlim=64) / ICMPv6ND_RS(), iface="veth1", verbose=False)
PY
for i in $(seq 1 50); do
  grep -q "ra: dropped ICMPv6 from fe80::99: hop limit 64 is not 255" "$DL_TMP/diskless.log" && break
  sleep 0.1
done
grep -q "ra: dropped ICMPv6 from fe80::99: hop limit 64 is not 255" "$DL_TMP/diskless.log" ||
  dl_fail "a hop-limit-64 solicitation was not dropped"
dl_kill "$DL_DISKLESS_PID"

# ra="off": no RA service.
sed -i 's|<dhcp mode="full"|<dhcp ra="off" mode="full"|' "$DL_TMP/diskless.xml"
mv "$DL_TMP/diskless.log" "$DL_TMP/diskless-on.log"
dl_serve "$bin" "$DL_TMP/diskless.xml"
sleep 0.5
! grep -q "IPv6 router advertisements on" "$DL_TMP/diskless.log" || dl_fail "ra=\"off\" still advertises"
echo "PASS IPv6 router advertisements: rdisc6 answered (lifetime 0, no M/O, no prefix, SLLA), hop limit 64 dropped, ra=off honoured"
