#!/usr/bin/env bash
# Builds diskless and runs every test: unit tests, the same unit tests under ASan+UBSan, every fuzz
# target for a short budget (clang, build-fuzz), and the integration tests (real clients against
# the real binary, in network namespaces they create).
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

# Every libFuzzer target for a fixed budget over its seed corpus (plus what earlier runs found,
# kept in build-fuzz/fuzz-work), under ASan+UBSan with the libraries instrumented; any crash
# fails. clang is required for libFuzzer; ccache is used when present.
echo "== fuzz (clang, libFuzzer, ASan+UBSan; ${DISKLESS_FUZZ_SECONDS:-25} s per target)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DDISKLESS_FUZZ=ON -DDISKLESS_FUZZ_SECONDS="${DISKLESS_FUZZ_SECONDS:-25}" "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_targets
ctest --test-dir build-fuzz -L fuzz --output-on-failure -j"$jobs" "${filter[@]}"

echo "== all tests (unit + integration)"
ctest --test-dir build --output-on-failure "${filter[@]}"
