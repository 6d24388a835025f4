# Runs the diskless binary for the boot tests (source after common.sh).
#   dl_inventory FILE DHCP_MODE UNKNOWN IMAGES_XML HOSTS_XML   writes an inventory for br0;
#                             HTTP on port 8080 as by default (iPXE then gets its script, kernel
#                             and initrd over HTTP), or off with DL_HTTP=off (all over TFTP)
#   dl_serve BINARY FILE      starts `diskless serve` in $DL_NS (cwd $DL_TMP: relative paths in
#                             the inventory resolve there), waits for TFTP, DHCP and iSCSI;
#                             $DL_SERVE_ARGS are added to serve's options (e.g. --trace-io
#                             pc5=/tmp/pc5.trace, how bench/traces/ were recorded)
dl_inventory() {
  local file=$1 mode=$2 unknown=$3 images=$4 hosts=$5 dhcp http=true
  [ "${DL_HTTP:-on}" = on ] || http=false
  if [ "$mode" = full ]; then
    dhcp='<dhcp mode="full" range="10.77.0.100-10.77.0.199" netmask="255.255.255.0" router="10.77.0.1"/>'
  else
    dhcp="<dhcp mode=\"$mode\"/>"
  fi
  cat > "$file" <<XML
<diskless version="1">
  <server address="$DL_SERVER" interface="br0">
    $dhcp
    <tftp root="tftp"/>
    <iscsi port="3260" iqn="iqn.2026-11.lan.diskless"/>
    <http port="8080" enabled="$http"/>
    <state dir="state"/>
  </server>
  <images>
$images
  </images>
  <hosts unknown="$unknown">
$hosts
  </hosts>
</diskless>
XML
}

# dl_lun_inventory FILE PORT STATE_DIR IMAGE_ATTRS: an iSCSI-only inventory (no DHCP, TFTP root
# default, no HTTP) with one host "bench" whose LUN is the image IMAGE_ATTRS describes
# (disk="..." or rbd="..." ...), open to any initiator: the benches'.
dl_lun_inventory() {
  cat > "$1" <<XML
<diskless version="1">
  <server address="$DL_SERVER">
    <dhcp mode="off"/>
    <iscsi port="$2" iqn="iqn.2026-11.lan.diskless"/>
    <http enabled="false"/>
    <state dir="$3"/>
  </server>
  <images><image name="lun" $4/></images>
  <hosts>
    <host mac="52:54:00:00:00:01" name="bench" image="lun" boot="sanboot" allow-any-initiator="true"/>
  </hosts>
</diskless>
XML
}

# dl_iscsi_server ADDRESS HTTP: the <server> element of an inventory without DHCP (iSCSI on 3260,
# TFTP on 6969, HTTP on port HTTP or "off", state in ./state), for tests that write the rest.
dl_iscsi_server() {
  local http="<http port=\"$2\"/>"
  [ "$2" = off ] && http='<http enabled="false"/>'
  cat <<XML
  <server address="$1">
    <dhcp mode="off"/>
    <iscsi port="3260" iqn="iqn.2026-11.lan.diskless"/>
    <tftp port="6969"/>
    $http
    <state dir="state"/>
  </server>
XML
}

# QEMU's iSCSI block options for HOST's LUN 0 at ADDRESS:3260 as the host's default initiator
# (iqn.2026-11.lan.diskless:initiator:HOST), and qemu-io with them inside $DL_NS:
#   dl_iscsi_opts ADDRESS HOST                   the --image-opts string (qemu-io, qemu-img)
#   dl_qio ADDRESS HOST qemu-io-args...
#   dl_qio_verify ADDRESS HOST qemu-io-args...   true when qemu-io reports no failure (it prints
#                                                "Pattern verification failed" and exits 0)
dl_iscsi_opts() {
  local iqn=iqn.2026-11.lan.diskless
  echo "driver=iscsi,transport=tcp,portal=$1:3260,lun=0,initiator-name=$iqn:initiator:$2,target=$iqn:$2"
}
dl_qio() {
  local opts
  opts=$(dl_iscsi_opts "$1" "$2")
  shift 2
  ip netns exec "$DL_NS" qemu-io --image-opts "$opts" "$@"
}
dl_qio_verify() {
  local out
  out=$(dl_qio "$@" 2>&1)
  ! grep -qi "fail\|error" <<<"$out"
}

dl_serve() {
  local bin=$1 file=$2
  mkdir -p "$DL_TMP/tftp" "$DL_TMP/state"
  if ! env -C "$DL_TMP" "$bin" -c "$file" check >"$DL_TMP/check.log" 2>&1; then
    cat "$DL_TMP/check.log" >&2
    dl_fail "diskless check refused the test inventory"
  fi
  # env -C: same process (exec chain), so it stays our child and is killed by PID.
  # shellcheck disable=SC2086 # DL_SERVE_ARGS: words
  dl_spawn diskless env -C "$DL_TMP" "$bin" -c "$file" --log-level debug serve ${DL_SERVE_ARGS:-}
  DL_DISKLESS_PID=$DL_LAST_PID
  dl_wait_port udp 69
  [ "${3:-dhcp}" = nodhcp ] || dl_wait_port udp 67
  dl_wait_port tcp 3260
  if grep -q '<http port="8080" enabled="true"/>' "$file"; then dl_wait_port tcp 8080; fi
}

# Prints the diskless log (tail) to stderr; for failure messages.
dl_show_diskless_log() {
  echo "---- diskless log (last ${1:-40} lines) ----" >&2
  tail -n "${1:-40}" "$DL_TMP/diskless.log" >&2 || true
}
