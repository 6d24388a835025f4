#!/usr/bin/env bash
# Builds the 64 MiB root disk for the iscsi-root test: an MBR with partition 1 (LBA 2048 to the
# end, Linux) holding an empty ext4 filesystem. No mounts needed (mkfs.ext4 -E offset=).
#   ext4_disk.sh OUT                 build it
#   ext4_disk.sh OUT cat FILE        print FILE from the filesystem (debugfs), for the checks
set -euo pipefail
out=${1:?usage: ext4_disk.sh OUT [cat FILE]}
if [ "${2:-}" = cat ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  dd if="$out" of="$work/part" bs=1M skip=1 status=none
  debugfs -R "cat ${3:?}" "$work/part" 2>/dev/null
  exit 0
fi
truncate -s 64M "$out"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$out"
mkfs.ext4 -q -F -L dlroot -E offset=1048576 "$out" 63M
