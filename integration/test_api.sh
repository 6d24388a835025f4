#!/usr/bin/env bash
# The JSON API on the admin listener (<api>), driven with curl while simulated PCs boot:
# - the token file is created 0600 on first start (its path logged); a group-readable one stops
#   the server; GETs need the token (401) until open-reads, writes always do;
# - a PC of the inventory (busybox udhcpc with a PXE vendor class, then curl for its script and
#   kernel) shows its phases in /api/v1/hosts/pc1 and on /api/v1/events as they happen;
# - an unknown MAC appears in /api/v1/unknown and is adopted through the API: the file gets the
#   host (comments kept) and the running server serves it after the reload;
# - malformed JSON 400, unknown field 400, oversized 413, invalid edit 422 with FILE:LINE,
#   and the inventory untouched by all of them;
# - /metrics passes `promtool check metrics`;
# - POST hosts/pc1/wake puts pc1's magic packet on the boot LAN.
# Usage: test_api.sh /path/to/diskless
set -euo pipefail
BIN=$(realpath "$1")
source "$(dirname "$0")/lib/common.sh"
source "$DL_LIB/diskless.sh"
source "$DL_LIB/lan_client.sh"
dl_init dlapi
dl_net 0
dl_lan_client

PC1=52:54:00:a1:00:01 NEWPC=52:54:00:a1:00:02
API=http://127.0.0.1:18081
cd "$DL_TMP"
mkdir -p tftp state
head -c 2000 /dev/urandom > vmlinuz
head -c 2000 /dev/urandom > initrd.img
dl_inventory inv.xml full ignore \
  '    <!-- kept by API edits -->
    <image name="live" kernel="vmlinuz" initrd="initrd.img" cmdline="quiet"/>' \
  "    <host mac=\"$PC1\" name=\"pc1\" image=\"live\" boot=\"linux\"/>"
sed -i 's|<state dir="state"/>|<api port="18081"/>\n    <state dir="state"/>|' inv.xml
srv() { ip netns exec "$DL_NS" "$@"; }
start() {
  dl_spawn diskless env -C "$DL_TMP" "$BIN" -c "$DL_TMP/inv.xml" --log-level info serve
  SERVE_PID=$DL_LAST_PID
}
code() { srv curl -s -o "$DL_TMP/body" -w '%{http_code}' "$@" || true; }

# A token file readable by others stops the server.
install -m 0644 /dev/null state/api.token
echo 0123456789abcdef0123456789abcdef > state/api.token
start
for i in $(seq 1 50); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVE_PID" 2>/dev/null && dl_fail "the server started with a group-readable token file"
grep -q 'chmod 600' diskless.log || dl_fail "no hint to chmod the token file"
rm state/api.token

start
dl_wait_port udp 67
dl_wait_port tcp 18081
[ "$(stat -c %a state/api.token)" = 600 ] || dl_fail "token file mode is not 600"
grep -q "api: bearer token created in $DL_TMP/state/api.token" diskless.log ||
  dl_fail "the token file's path is not logged"
TOKEN=$(cat state/api.token)
AUTH=(-H "Authorization: Bearer $TOKEN")
listen=$(srv ss -Hlnt 'sport = :18081' | awk '{print $4}')
[ "$listen" = "127.0.0.1:18081" ] || dl_fail "the API listens on '$listen', not 127.0.0.1:18081"

[ "$(code $API/api/v1/hosts)" = 401 ] || dl_fail "GET without a token is not 401"
[ "$(code -H 'Authorization: Bearer wrong' $API/api/v1/hosts)" = 401 ] || dl_fail "wrong token"
[ "$(code "${AUTH[@]}" $API/api/v1/status)" = 200 ] || dl_fail "status: $(cat body)"
grep -q '"hosts":1' body || dl_fail "status counts: $(cat body)"

# The live stream, read while the PC boots.
dl_spawn events curl -sN "${AUTH[@]}" $API/api/v1/events
EVENTS_PID=$DL_LAST_PID
sleep 0.5

out=$(dl_udhcpc "$PC1" "PXEClient:Arch:00000:UNDI:002001") || dl_fail "pc1 got no lease"
ip=${out%% *}
dl_log "pc1 leased $ip"
ip -n "$DL_CNS" addr add "$ip/24" dev eth0
ip netns exec "$DL_CNS" curl -sf -o /dev/null "http://$DL_SERVER:8080/boot/52-54-00-a1-00-01.ipxe" ||
  dl_fail "pc1's script not served"
ip netns exec "$DL_CNS" curl -sf -o /dev/null "http://$DL_SERVER:8080/images/live/vmlinuz" ||
  dl_fail "pc1's kernel not served"
ip -n "$DL_CNS" addr del "$ip/24" dev eth0

[ "$(code "${AUTH[@]}" $API/api/v1/hosts/pc1)" = 200 ] || dl_fail "hosts/pc1: $(cat body)"
python3 - "$DL_TMP/body" "$ip" <<'PY' || dl_fail "pc1's state: $(cat "$DL_TMP/body")"
import json, sys
h = json.load(open(sys.argv[1]))
b = h["boot_state"]
names = [s["name"] for s in b["steps"]]
assert h["phase"] == "kernel", h["phase"]
assert h["address"] == sys.argv[2], h["address"]
for n in ["discover", "offer", "request", "ack", "script", "kernel"]:
    assert n in names, (n, names)
assert names.index("discover") < names.index("ack") < names.index("script") < names.index("kernel")
PY
for i in $(seq 1 50); do grep -q '"name":"kernel"' events.log && break; sleep 0.1; done
grep -q '^event: hello' events.log || dl_fail "no hello on the event stream"
grep -q '"phase":"script"' events.log || dl_fail "no script phase on the event stream: $(cat events.log)"
grep -q '"name":"kernel"' events.log || dl_fail "no kernel step on the event stream"

[ "$(code "${AUTH[@]}" $API/api/v1/leases)" = 200 ] && grep -q "\"$ip\"" body ||
  dl_fail "leases: $(cat body)"

# /metrics: Prometheus text that promtool (Debian package prometheus) accepts.
[ "$(code $API/metrics)" = 401 ] || dl_fail "/metrics without a token"
[ "$(code "${AUTH[@]}" $API/metrics)" = 200 ] || dl_fail "/metrics: $(cat body)"
grep -q '^diskless_boot_file_requests_total{via="http",kind="script"} 1$' body ||
  dl_fail "/metrics misses the script fetch: $(cat body)"
grep -q '^diskless_dhcp_packets_total{type="DISCOVER",reply="OFFER"} ' body ||
  dl_fail "/metrics misses the DISCOVER: $(cat body)"
if command -v promtool >/dev/null; then
  promtool check metrics < body || dl_fail "promtool check metrics refused /metrics"
else
  dl_fail "promtool missing: run integration/deps.sh"
fi

# Wake-on-LAN: the magic packet leaves on the boot LAN as a UDP broadcast to port 9, captured
# on the PC's side with a raw socket.
ip netns exec "$DL_CNS" python3 - "$DL_TMP/wol.bin" > wol.log 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("eth0", 0))
s.settimeout(15)
print("listening", flush=True)
while True:
    ip = s.recv(2048)[14:]
    if ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4:]
    if struct.unpack(">H", udp[2:4])[0] == 9 and ip[16:20] == b"\xff\xff\xff\xff":
        open(sys.argv[1], "wb").write(udp[8:])
        break
PY
WOL_PID=$!
for i in $(seq 1 50); do grep -q listening wol.log && break; sleep 0.1; done
[ "$(code "${AUTH[@]}" -X POST $API/api/v1/hosts/pc1/wake)" = 202 ] || dl_fail "wake: $(cat body)"
wait "$WOL_PID" || dl_fail "no magic packet seen on the LAN: $(cat wol.log)"
python3 - wol.bin <<'PY' || dl_fail "the magic packet is wrong: $(od -An -tx1 wol.bin | head -3)"
import sys
p = open(sys.argv[1], "rb").read()
assert p == b"\xff" * 6 + bytes.fromhex("525400a10001") * 16, p.hex()
PY

# An unknown PC: recorded, then adopted.
dl_udhcpc "$NEWPC" "PXEClient:Arch:00007:UNDI:003016" >/dev/null || true
[ "$(code "${AUTH[@]}" $API/api/v1/unknown)" = 200 ] || dl_fail "unknown: $(cat body)"
grep -q "\"mac\":\"$NEWPC\"" body || dl_fail "the unknown PC is not listed: $(cat body)"
grep -q '"vendor_class":"PXEClient:Arch:00007:UNDI:003016"' body || dl_fail "the unknown PC's vendor class: $(cat body)"
grep -q '"event: unknown"\|^event: unknown' events.log || dl_fail "no unknown event on the stream"

cp inv.xml inv.before
post() { code "${AUTH[@]}" -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$API/api/v1/$2"; }
[ "$(post POST hosts '{"mac": ')" = 400 ] || dl_fail "malformed JSON: $(cat body)"
[ "$(post POST hosts '{"mac":"52:54:00:a1:00:09","colour":"red"}')" = 400 ] || dl_fail "unknown field"
[ "$(post POST hosts "{\"mac\":\"52:54:00:a1:00:09\",\"name\":\"$(head -c 70000 /dev/zero | tr '\0' a)\"}")" = 413 ] ||
  dl_fail "oversized body: $(cat body)"
[ "$(post POST hosts '{"mac":"52:54:00:a1:00:09","name":"x","image":"nope"}')" = 422 ] ||
  dl_fail "invalid edit: $(cat body)"
grep -q 'inv.xml:[0-9]*: ' body || dl_fail "no FILE:LINE problem in the 422: $(cat body)"
[ "$(code -X DELETE $API/api/v1/hosts/pc1)" = 401 ] || dl_fail "DELETE without a token"
cmp -s inv.xml inv.before || dl_fail "a refused request changed the inventory"

[ "$(post POST "unknown/$NEWPC/adopt" '{"name":"newpc","image":"live","boot":"linux"}')" = 201 ] ||
  dl_fail "adopt: $(cat body)"
grep -q "mac=\"$NEWPC\" name=\"newpc\"" inv.xml || dl_fail "adopted host not in the file"
grep -q '<!-- kept by API edits -->' inv.xml || dl_fail "the edit lost a comment"
for i in $(seq 1 50); do
  [ "$(code "${AUTH[@]}" $API/api/v1/hosts/newpc)" = 200 ] && break
  sleep 0.1
done
[ "$(code "${AUTH[@]}" $API/api/v1/hosts/newpc)" = 200 ] || dl_fail "adopted host not served"
[ "$(code "${AUTH[@]}" $API/api/v1/unknown)" = 200 ] && ! grep -q "$NEWPC" body ||
  dl_fail "adopted PC still unknown: $(cat body)"
[ "$(post PATCH hosts/newpc '{"boot":"local"}')" = 200 ] || dl_fail "PATCH: $(cat body)"
[ "$(post DELETE hosts/newpc '')" = 200 ] || dl_fail "DELETE: $(cat body)"
grep -q newpc inv.xml && dl_fail "deleted host still in the file"
kill "$EVENTS_PID" 2>/dev/null || true

dl_log "80 idle connections to the admin listener: it keeps at most 64, then still answers"
srv python3 - <<'PY' || dl_fail "the admin listener held more than 64 idle connections"
import select, socket, sys
socks = [socket.create_connection(("127.0.0.1", 18081)) for _ in range(80)]
# The listener closes what is over its cap: those sockets read EOF (the first 64 stay open).
closed = 0
for s in socks[64:]:
    r, _, _ = select.select([s], [], [], 10)
    if r and s.recv(1) == b"":
        closed += 1
print(f"closed by the server: {closed} of the last 16")
sys.exit(0 if closed == 16 else 1)
PY
[ "$(code "${AUTH[@]}" $API/api/v1/status)" = 200 ] || dl_fail "the API does not answer after the flood"
echo "PASS: API routes, token, live state and events of a booting PC, adopt of an unknown PC"
