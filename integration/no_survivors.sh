#!/usr/bin/env bash
# Runs after the integration tests (ctest fixture cleanup): fails when a process the tests started
# outlived them. Suspects: this build's diskless binary anywhere, and any diskless, qemu-system-*
# or tgtd whose network namespace no longer has a name (the test that made it has deleted it).
# Others' processes in live namespaces (a test of another checkout running now) are left alone.
# Usage: no_survivors.sh /path/to/diskless
set -uo pipefail
bin=$(realpath "$1")
declare -A live=()
live[$(stat -L -c %i /proc/self/ns/net)]=1  # ours: ctest runs in the host namespace
for f in /run/netns/*; do [ -e "$f" ] && live[$(stat -L -c %i "$f")]=1; done
found=0
for d in /proc/[0-9]*; do
  pid=${d#/proc/}
  [ "$pid" = $$ ] && continue
  exe=$(readlink "$d/exe" 2>/dev/null) || continue
  ns=$(stat -L -c %i "$d/ns/net" 2>/dev/null) || continue
  exe=${exe% (deleted)}
  case "${exe##*/}" in
    diskless | qemu-system-* | tgtd) ;;
    *) continue ;;
  esac
  if [ "$exe" = "$bin" ] || [ -z "${live[$ns]:-}" ]; then
    echo "FAIL: pid $pid outlived the test that started it: $(tr '\0' ' ' <"$d/cmdline")" >&2
    found=1
  fi
done
[ $found = 0 ] && echo "no process started by the tests survived them"
exit $found
