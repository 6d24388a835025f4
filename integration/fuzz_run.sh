#!/usr/bin/env bash
# Runs one libFuzzer target (built with -DDISKLESS_FUZZ=ON) for a fixed budget over its seed
# corpus, under the ASan+UBSan it was built with. New inputs go to WORK/corpus (the seed
# directory in the source tree is only read); a crash, leak, sanitizer report or timeout leaves
# its input in WORK/ and fails (libFuzzer's exit status). The last lines of output are
# libFuzzer's final stats (cov:, ft:, number of executed units).
# Usage: fuzz_run.sh BINARY SEED_DIR WORK_DIR SECONDS
set -euo pipefail
bin=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" "$seeds"
