#!/usr/bin/env bash
# Builds diskless and runs every test: unit tests, the same unit tests under ASan+UBSan, and the
# integration tests (real clients against the real binary, in network namespaces they create).
# Usage: integration/test.sh [ctest -R regex]
set -euo pipefail
cd "$(dirname "$0")/.."
integration/deps.sh
jobs=$(nproc)
filter=()
[ $# -gt 0 ] && filter=(-R "$1")

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDISKLESS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

echo "== unit tests under ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs" "${filter[@]}"

echo "== all tests (unit + integration)"
ctest --test-dir build --output-on-failure "${filter[@]}"
