#!/usr/bin/env bash
# Installs what diskless needs to build and test on Debian 12, and only what is missing.
# Idempotent and quiet when everything is there. Used by both README commands and by .ci/run.
#   integration/deps.sh          build + test dependencies
#   integration/deps.sh build    build dependencies only
set -euo pipefail

build_pkgs=(cmake g++ ninja-build pkg-config
  libboost1.81-dev libcli11-dev
  libspdlog-dev libfmt-dev libpugixml-dev libgtest-dev libsystemd-dev
  librbd-dev librados-dev libradospp-dev)
# Real peers and clients for the integration tests and benches (integration/lib/*.sh
# start them).
test_pkgs=(iproute2 procps psmisc python3 python3-scapy curl tftp-hpa atftp busybox-static
  isc-dhcp-client udhcpc dhcpcd5 libiscsi-bin libiscsi-dev qemu-utils qemu-block-extra
  qemu-system-x86 ipxe ipxe-qemu ovmf nasm dnsmasq-base ndisc6 tgt tftpd-hpa kea-admin
  clang libclang-rt-14-dev e2fsprogs fdisk dosfstools mtools cpio xz-utils open-iscsi
  grub-efi-amd64-bin grub-pc-bin kmod debootstrap lintian man-db dpkg-dev
  chromium chromium-driver python3-selenium prometheus
  ceph-mon ceph-mgr ceph-osd ceph-common tgt-rbd)

want=("${build_pkgs[@]}")
[ "${1:-all}" = build ] || want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run as root (apt-get install)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Daemons from peer packages (tgt, tftpd-hpa) must not start on the host: tests start their own.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
