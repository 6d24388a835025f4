# QEMU launcher for the boot tests (source after common.sh).
#   dl_qemu NAME FIRMWARE TAP MAC TIMEOUT [extra qemu args...]
# FIRMWARE: bios     SeaBIOS + the NIC's iPXE option ROM (e1000)
#           bios-local  the same, then the local disk (give it with -drive ...) when iPXE exits
#           uefi     OVMF native PXE (virtio-net without option ROM: the firmware's own PXE)
#           kernel   SeaBIOS, direct kernel boot is given in the extra args (-kernel ...)
# dl_qemu_start takes the same arguments and returns at once (PID in DL_LAST_PID), for several
# PCs at once; dl_qemu_wait NAME PID collects it.
# With DL_SERIAL_KEYS=(PROMPT=KEYS ...) set, keys are typed on the serial console when the prompts
# appear (SeaBIOS's serial console passes them to the option ROM as keystrokes).
# With DL_SERIAL_TIMES=1, every console line is also logged with its arrival time to
# $DL_TMP/NAME.times ("<unix time> <line>"; see dl_qemu_phases).
# Runs under TCG (never /dev/kvm: the nested PVM there crashes iPXE) inside $DL_NS, serial
# console to $DL_TMP/NAME.serial, with isa-debug-exit at 0xf4. Blocks until QEMU ends or TIMEOUT
# seconds pass; sets DL_QEMU_RC (124 on timeout) and DL_QEMU_SECONDS (wall time, for benches).
DL_SERIAL_KEYS=()
dl_qemu_start() {
  local name=$1 fw=$2 tap=$3 mac=$4 timeout=$5
  shift 5
  local serial=(-serial "file:$DL_TMP/$name.serial")
  if [ ${#DL_SERIAL_KEYS[@]} -gt 0 ] || [ -n "${DL_SERIAL_TIMES:-}" ]; then
    # Someone types: the serial console goes through a socket to lib/serial_driver.py, which logs
    # it to the same file and answers prompts (QEMU waits for it to connect: nothing is lost).
    serial=(-chardev "socket,id=ser0,path=$DL_TMP/$name.sock,server=on,wait=on" -serial chardev:ser0)
    local times=()
    [ -z "${DL_SERIAL_TIMES:-}" ] || times=(--times "$DL_TMP/$name.times")
    /usr/bin/python3 "$DL_LIB/serial_driver.py" "${times[@]}" "$DL_TMP/$name.sock" \
      "$DL_TMP/$name.serial" "${DL_SERIAL_KEYS[@]}" &
    DL_PIDS+=($!)
  fi
  local args=(-accel tcg -m 256M -nographic -monitor none "${serial[@]}"
    -device isa-debug-exit,iobase=0xf4,iosize=1 -no-reboot
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no")
  case $fw in
    bios) args+=(-boot n -device "e1000,netdev=n0,mac=$mac") ;;
    bios-local) args+=(-boot order=nc -device "e1000,netdev=n0,mac=$mac") ;;
    kernel) args+=(-device "e1000,netdev=n0,mac=$mac") ;;
    uefi)
      cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DL_TMP/$name.vars"
      args+=(-drive "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
        -drive "if=pflash,format=raw,file=$DL_TMP/$name.vars"
        -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=")
      ;;
    *) dl_fail "dl_qemu: unknown firmware $fw" ;;
  esac
  date +%s.%N > "$DL_TMP/$name.start"
  ip netns exec "$DL_NS" timeout --kill-after=5 "$timeout" qemu-system-x86_64 "${args[@]}" "$@" \
    </dev/null >"$DL_TMP/$name.qemu.log" 2>&1 &
  DL_LAST_PID=$!
  DL_PIDS+=($DL_LAST_PID)
}

# Waits for the QEMU of NAME started by dl_qemu_start (PID); sets DL_QEMU_RC and DL_QEMU_SECONDS.
dl_qemu_wait() {
  local name=$1 pid=$2
  set +e
  wait "$pid"
  DL_QEMU_RC=$?
  set -e
  DL_QEMU_SECONDS=$(awk -v s="$(cat "$DL_TMP/$name.start")" -v e="$(date +%s.%N)" \
    'BEGIN {printf "%.2f", e - s}')
}

dl_qemu() {
  dl_qemu_start "$@"
  dl_qemu_wait "$1" "$DL_LAST_PID"
}

# Fails the test unless the serial log of NAME contains the fixed string WANT.
dl_expect_serial() {
  local name=$1 want=$2
  if ! grep -qF -- "$want" "$DL_TMP/$name.serial"; then
    echo "---- serial console of $name (last 40 lines) ----" >&2
    tail -n 40 "$DL_TMP/$name.serial" | tr -d '\033' >&2 || true
    echo "---- qemu: $(tail -n 5 "$DL_TMP/$name.qemu.log" 2>/dev/null)" >&2
    dl_fail "$name: serial console lacks '$want' (qemu status $DL_QEMU_RC)"
  fi
}

# Fails unless NAME ran the BIOS test disk DISK (images/bios_disk.sh) to its end: exit status 33
# from isa-debug-exit and the sector checksums the disk really holds.
dl_expect_bios_disk() {
  local name=$1 disk=$2
  dl_expect_serial "$name" "DISKLESS-BIOS-BOOT"
  dl_expect_serial "$name" "DISKLESS-BIOS-DONE"
  # SeaBIOS's serial console may slip a character between the boot sector's own port writes;
  # compare with dots, blanks and line ends removed.
  local strip=$'. \r\n'
  tr -d "$strip" < "$DL_TMP/$name.serial" | grep -qF -- "$(tr -d "$strip" < "$disk.expect")" ||
    dl_fail "$name: sector checksums differ from the image's: want '$(cat "$disk.expect")'"
  [ "$DL_QEMU_RC" = 33 ] || dl_fail "$name: QEMU ended with $DL_QEMU_RC, not 33 (isa-debug-exit 0x10)"
}

# The same for the UEFI test disk (images/uefi_disk.sh): both sha256 sums and exit status 33.
dl_expect_uefi_disk() {
  local name=$1 disk=$2 sum
  dl_expect_serial "$name" "DISKLESS-UEFI-BOOT"
  while read -r sum; do dl_expect_serial "$name" "$sum"; done < "$disk.expect"
  dl_expect_serial "$name" "DISKLESS-UEFI-DONE"
  [ "$DL_QEMU_RC" = 33 ] || dl_fail "$name: QEMU ended with $DL_QEMU_RC, not 33 (isa-debug-exit 0x10)"
}
