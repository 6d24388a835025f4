#!/usr/bin/env bash
# Unpacks a Debian amd64 kernel (+ its modules) into OUT_DIR: OUT_DIR/vmlinuz, OUT_DIR/root/
# (the unpacked package: lib/modules/<version>/...), OUT_DIR/version.
# The .deb is fetched with `apt-get download` (the ordinary apt client) once and kept in
# $DISKLESS_TEST_CACHE (default /var/tmp/diskless-test-cache) so later tests reuse it.
# Usage: kernel.sh OUT_DIR
set -euo pipefail
out=${1:?usage: kernel.sh OUT_DIR}
cache=${DISKLESS_TEST_CACHE:-/var/tmp/diskless-test-cache}
mkdir -p "$cache" "$out"
# The image package the linux-image-amd64 metapackage points at (e.g. linux-image-6.1.0-56-amd64).
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$pkg" ]; then
  echo "kernel.sh: apt-cache knows no linux-image-amd64; run apt-get update" >&2
  exit 1
fi
deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  # Serialise concurrent downloads (several tests may start at once).
  exec 9>"$cache/.lock"
  flock 9
  deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    echo "kernel.sh: downloading $pkg (once; cached in $cache)" >&2
    (cd "$cache" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
      # apt-get download runs as _apt when it can; retry as the current user in a temp dir.
      tmp=$(mktemp -d); (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null)
      mv "$tmp"/*.deb "$cache"/; rmdir "$tmp"; }
    deb=$(ls "$cache"/"${pkg}"_*.deb | head -n1)
  fi
  flock -u 9
fi
dpkg-deb -x "$deb" "$out/root"
version=$(ls "$out/root/lib/modules" | head -n1)
cp "$out/root/boot/vmlinuz-$version" "$out/vmlinuz"
echo "$version" > "$out/version"
