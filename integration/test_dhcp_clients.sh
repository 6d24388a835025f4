#!/usr/bin/env bash
# Real DHCP clients against diskless in full mode: busybox udhcpc, ISC dhclient and dhcpcd each
# get a lease in their own namespace; a host with a static ip= gets exactly that address; every
# lease is in the journal. Usage: test_dhcp_clients.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
TAG="dldc$$"
SW="${TAG}w" SRV="${TAG}s"
CLIENTS=(udhcpc dhclient dhcpcd)
declare -A MAC=([udhcpc]=52:54:00:66:00:01 [dhclient]=52:54:00:66:00:02 [dhcpcd]=52:54:00:66:00:03)
TMP=$(mktemp -d /tmp/dldhcp-clients.XXXXXX)
PIDS=()

cleanup() {
  local rc=$? p c
  set +e
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  # dhcpcd's privilege-separated helpers end with their parent; give them a moment.
  sleep 0.5
  for c in "${CLIENTS[@]}"; do ip netns del "${TAG}$c" 2>/dev/null; done
  ip netns del "$SW" 2>/dev/null
  ip netns del "$SRV" 2>/dev/null
  if [ $rc -ne 0 ]; then
    echo "---- diskless log" >&2
    tail -n 40 "$TMP/diskless.log" >&2
  fi
  rm -rf "$TMP"
  exit $rc
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# A switch namespace with a bridge; the server and each client on a veth port.
ip netns add "$SW"
ip netns add "$SRV"
ip -n "$SW" link add br0 type bridge forward_delay 0 stp_state 0
ip -n "$SW" link set br0 up
ip -n "$SW" link add p0 type veth peer name lan0
ip -n "$SW" link set lan0 netns "$SRV"
ip -n "$SW" link set p0 master br0 up
ip -n "$SRV" link set lo up
ip -n "$SRV" addr add 10.77.2.1/24 dev lan0
ip -n "$SRV" link set lan0 up
i=1
for c in "${CLIENTS[@]}"; do
  ip netns add "${TAG}$c"
  ip -n "$SW" link add "p$i" type veth peer name "dlc$c"
  ip -n "$SW" link set "dlc$c" netns "${TAG}$c"
  ip -n "$SW" link set "p$i" master br0 up
  ip -n "${TAG}$c" link set lo up
  ip -n "${TAG}$c" link set "dlc$c" address "${MAC[$c]}" up
  i=$((i + 1))
done

# dhcpcd's MAC has a static address; the others come from the pool.
cat >"$TMP/inv.xml" <<XML
<diskless version="1">
  <server address="10.77.2.1" interface="lan0">
    <dhcp mode="full" range="10.77.2.100-10.77.2.199" netmask="255.255.255.0" router="10.77.2.1"
          lease-time="1h"/>
    <tftp root="tftp" port="6969"/>
    <iscsi port="13260"/>
    <http port="18080" enabled="false"/>
    <state dir="state"/>
  </server>
  <images/>
  <hosts unknown="local">
    <host mac="${MAC[dhcpcd]}" name="static-pc" boot="local" ip="10.77.2.50"/>
  </hosts>
</diskless>
XML
mkdir -p "$TMP/tftp"
ip netns exec "$SRV" env -C "$TMP" "$BIN" -c "$TMP/inv.xml" --log-level debug serve \
  >"$TMP/diskless.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  ip netns exec "$SRV" ss -Hlnu "sport = :67" | grep -q . && break
  sleep 0.1
done
ip netns exec "$SRV" ss -Hlnu "sport = :67" | grep -q . || fail "diskless does not listen on 67"

# Each client's hook script writes the address it was given; the clients configure nothing
# outside their namespace (no resolv.conf: our own scripts only).
# (dhclient runs its script with a clean environment, so the output path is baked in.)
for c in "${CLIENTS[@]}"; do
  cat >"$TMP/hook-$c.sh" <<SH
#!/bin/sh
# udhcpc: \$1 = bound, \$ip; dhclient and dhcpcd: \$reason = BOUND, \$new_ip_address.
case "\${1:-}:\${reason:-}" in
  bound:*) echo "\$ip" >"$TMP/$c.ip" ;;
  *:BOUND | *:REBOOT) echo "\$new_ip_address" >"$TMP/$c.ip" ;;
esac
exit 0
SH
  chmod +x "$TMP/hook-$c.sh"
done

in_ns() { local c=$1; shift; ip netns exec "${TAG}$c" "$@"; }
# Background clients are started with `ip netns exec ... &` directly (it execs, so $! is the
# client itself and cleanup kills it by PID).
# Waits for a client's address file (the client keeps running in the background).
wait_ip() {
  for _ in $(seq 1 300); do
    [ -s "$TMP/$1.ip" ] && return 0
    sleep 0.1
  done
  return 1
}
in_ns udhcpc timeout 30 udhcpc -f -q -n -i dlcudhcpc -t 10 -T 1 -s "$TMP/hook-udhcpc.sh" \
  >"$TMP/udhcpc.log" 2>&1 || fail "udhcpc got no lease: $(cat "$TMP/udhcpc.log")"
ip netns exec "${TAG}dhclient" dhclient -1 -d -sf "$TMP/hook-dhclient.sh" -lf "$TMP/dhclient.leases" \
  -pf "$TMP/dhclient.pid" dlcdhclient >"$TMP/dhclient.log" 2>&1 &
PIDS+=($!)
wait_ip dhclient || fail "dhclient got no lease: $(tail -5 "$TMP/dhclient.log")"
# dhcpcd: IPv4 only, foreground, our hook, no config file; its pid/lease files are named after
# our unique interface name.
ip netns exec "${TAG}dhcpcd" dhcpcd -4 -B -t 30 -f /dev/null -c "$TMP/hook-dhcpcd.sh" dlcdhcpcd \
  >"$TMP/dhcpcd.log" 2>&1 &
PIDS+=($!)
wait_ip dhcpcd || fail "dhcpcd got no lease: $(tail -5 "$TMP/dhcpcd.log")"

declare -A GOT
for c in "${CLIENTS[@]}"; do
  GOT[$c]=$(cat "$TMP/$c.ip")
  echo "ok   $c: ${MAC[$c]} -> ${GOT[$c]}"
done
for c in udhcpc dhclient; do
  [[ ${GOT[$c]} =~ ^10\.77\.2\.1[0-9][0-9]$ ]] || fail "$c: ${GOT[$c]} is not from the pool"
done
[ "${GOT[dhcpcd]}" = 10.77.2.50 ] || fail "dhcpcd (static host): ${GOT[dhcpcd]}, want 10.77.2.50"
[ "${GOT[udhcpc]}" != "${GOT[dhclient]}" ] || fail "two clients share ${GOT[udhcpc]}"
for c in "${CLIENTS[@]}"; do
  grep -q "^B ${MAC[$c]} ${GOT[$c]} " "$TMP/state/dhcp-leases.journal" ||
    fail "$c's lease is not in the journal"
done
echo "ok   every lease is in the journal"

# udhcpc again (a renewing client asks for its address): the same address.
in_ns udhcpc timeout 30 udhcpc -f -q -n -i dlcudhcpc -t 10 -T 1 -r "${GOT[udhcpc]}" \
  -s "$TMP/hook-udhcpc.sh" >"$TMP/udhcpc2.log" 2>&1 || fail "udhcpc (second run) got no lease"
[ "$(cat "$TMP/udhcpc.ip")" = "${GOT[udhcpc]}" ] || fail "udhcpc's address changed"
# ... and asking for someone else's address gets a NAK, then a fresh lease of its own.
in_ns udhcpc timeout 30 udhcpc -f -q -n -i dlcudhcpc -t 10 -T 1 -r "${GOT[dhclient]}" \
  -s "$TMP/hook-udhcpc.sh" >"$TMP/udhcpc3.log" 2>&1 || fail "udhcpc (third run) got no lease"
[ "$(cat "$TMP/udhcpc.ip")" = "${GOT[udhcpc]}" ] || fail "udhcpc got another client's address"
echo "ok   renew keeps the address, another client's address is refused"
echo PASS
