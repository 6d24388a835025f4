#!/usr/bin/env bash
# The boot storm, small (bench/storm.sh with 20 PCs against diskless only): 20 simulated PCs, each
# its own MAC on a macvlan, power on within 3 s and walk PXE DHCP, undionly.kpxe over TFTP, iPXE
# DHCP, the script over HTTP, iSCSI login, the replay of the recorded Linux iscsi-root boot's
# block I/O (firmware session, then the OS's initiator taking over), a steady phase in which it
# reads back blocks it wrote, and logout. Every PC must come up with its data intact: storm.sh
# exits 1 otherwise. Times are printed, never asserted.
# Usage: test_storm_small.sh PATH/TO/diskless
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:?usage: $0 PATH/TO/diskless}")
out=$(STORM_SERVERS=diskless STORM_STEADY_MS=1000 "$here/bench/storm.sh" "$bin" 20 1) || {
  echo "$out"
  echo "FAIL: not every simulated PC came up" >&2
  exit 1
}
echo "$out"
grep -q ' up=20 failed=0 ' <<<"$out" || { echo "FAIL: expected up=20 failed=0" >&2; exit 1; }
# Each PC read back blocks it had written (a mismatch fails the PC at step "steady").
grep -Eq ' verified_blocks=[1-9]' <<<"$out" || { echo "FAIL: no written block read back" >&2; exit 1; }
echo "PASS storm (20 PCs booted through DHCP, TFTP, HTTP and iSCSI, trace replayed, 0 failures)"
