# A client namespace on the boot LAN (source after common.sh, after dl_net):
#   dl_lan_client            namespace $DL_CNS whose eth0 is a port of br0 in $DL_NS (deleted
#                            on exit by common.sh's cleanup)
#   dl_udhcpc MAC [VENDOR]   busybox udhcpc as MAC (option 60 VENDOR if given) in $DL_CNS;
#                            prints "IP BOOTFILE" ("-" when the offer had no file) and returns 0,
#                            or returns 1 when no lease came (5 DISCOVERs, 1 s apart)
#   dl_lan_pc MAC IP [NS]    a PC on br0 with MAC and static IP/24: namespace NS (default $DL_CNS,
#                            made by dl_lan_client), interface eth0; a host's boot script goes
#                            only to the PC with the host's MAC, so curl it from there
dl_lan_client() {
  DL_CNS="$DL_NS-c"
  DL_CDEV=eth0  # dl_client_mac (common.sh) gives it a host's MAC
  ip netns add "$DL_CNS"
  ip -n "$DL_NS" link add vc0 type veth peer name eth0 netns "$DL_CNS"
  ip -n "$DL_NS" link set vc0 master br0 up
  ip -n "$DL_CNS" link set lo up
  cat >"$DL_TMP/udhcpc-hook.sh" <<SH
#!/bin/sh
[ "\$1" = bound ] && echo "\$ip \${boot_file:--}" >"$DL_TMP/udhcpc.out"
exit 0
SH
  chmod +x "$DL_TMP/udhcpc-hook.sh"
}

dl_udhcpc() {
  local mac=$1 vendor=${2:-}
  rm -f "$DL_TMP/udhcpc.out"
  ip -n "$DL_CNS" link set eth0 down
  ip -n "$DL_CNS" link set eth0 address "$mac" up
  local args=(-f -q -n -i eth0 -t 5 -T 1 -s "$DL_TMP/udhcpc-hook.sh")
  [ -n "$vendor" ] && args+=(-V "$vendor")
  ip netns exec "$DL_CNS" timeout 20 udhcpc "${args[@]}" >"$DL_TMP/udhcpc.log" 2>&1 || return 1
  [ -s "$DL_TMP/udhcpc.out" ] || return 1
  cat "$DL_TMP/udhcpc.out"
}

dl_lan_pc() {
  local mac=$1 ip=$2 ns=${3:-}
  if [ -z "$ns" ]; then
    dl_lan_client
    ns=$DL_CNS
  else
    ip netns add "$ns"
    DL_EXTRA_NS+=("$ns")
    ip -n "$DL_NS" link add "v-${ns: -6}" type veth peer name eth0 netns "$ns"
    ip -n "$DL_NS" link set "v-${ns: -6}" master br0 up
    ip -n "$ns" link set lo up
  fi
  ip -n "$ns" link set eth0 address "$mac"
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
}
