# The peer servers for baselines and benches (source after common.sh): dnsmasq (DHCP + TFTP,
# set up as a usual iPXE chainloading lab: RAs, iPXE tagged by option 175, fast boot with
# option 175.176) and tgt (tgtd), each inside $DL_NS as a child of the test.
#
#   dl_dnsmasq full TFTP_ROOT SCRIPT    DHCP with PXE boot files + TFTP: BIOS PXE gets
#                                       undionly.kpxe, x64 UEFI ipxe.efi, iPXE gets SCRIPT
#   dl_dnsmasq plain                    a plain LAN DHCP server: addresses only, no PXE options
# Tuning (what makes it fast): enable-ra (iPXE otherwise waits ~13 s for an IPv6 router),
# no-ping (~3 s per offer), iPXE option 175.176 no-pxedhcp (~3 s proxyDHCP wait; full mode only).
dl_dnsmasq() {
  local mode=$1
  local args=(--no-daemon --conf-file=/dev/null --port=0 --interface=br0 --bind-interfaces
    --dhcp-range=10.77.0.100,10.77.0.199,255.255.255.0,1h --dhcp-range=fd77::,ra-only
    --enable-ra --no-ping --dhcp-leasefile="$DL_TMP/dnsmasq.leases" --dhcp-authoritative
    --log-dhcp)
  if [ "$mode" = full ]; then
    local root=$2 script=$3
    args+=(--enable-tftp --tftp-root="$root"
      --dhcp-match=set:ipxe,175
      --dhcp-match=set:efi64,option:client-arch,7
      --dhcp-match=set:efi64,option:client-arch,9
      --dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe,,$DL_SERVER
      --dhcp-boot=tag:!ipxe,tag:efi64,ipxe.efi,,$DL_SERVER
      --dhcp-boot=tag:ipxe,"$script",,$DL_SERVER
      --dhcp-option=tag:ipxe,encap:175,176,1b)
  fi
  dl_spawn dnsmasq dnsmasq "${args[@]}"
  DL_DNSMASQ_PID=$DL_LAST_PID
  dl_wait_port udp 67
}

# tgtd serving DISK as LUN 1 of TARGET (tgt's LUN 0 is its controller), any initiator, on PORT
# (default 3260). Its control socket is private (-C <port>) so parallel tests do not meet.
dl_tgt() {
  local target=$1 disk=$2 port=${3:-3260}
  DL_TGT_CTL=$(( ($$ % 20000) + 1000 ))
  dl_spawn tgtd tgtd -f -C "$DL_TGT_CTL" --iscsi portal="$DL_SERVER:$port"
  DL_TGT_PID=$DL_LAST_PID
  dl_wait_port tcp "$port"
  local t="tgtadm -C $DL_TGT_CTL --lld iscsi"
  $t --op new --mode target --tid 1 -T "$target"
  $t --op new --mode logicalunit --tid 1 --lun 1 -b "$disk"
  $t --op bind --mode target --tid 1 -I ALL
}
