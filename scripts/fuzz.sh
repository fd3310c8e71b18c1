#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs
# each for a bounded time. Usage: scripts/fuzz.sh [seconds per target]
# (default 30). The corpus persists under build/fuzz/corpus/<target>, seeded
# from fuzz/seeds/<target> when that exists; crashes land in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-30}
build=$root/build/fuzz

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh)"; exit 1; }
CXX=clang++ cmake -S fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build"

for target in fuzz_frame; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  seeds=()
  if [ -d "fuzz/seeds/$target" ]; then seeds=("$root/fuzz/seeds/$target"); fi
  echo "=== $target: ${secs}s"
  (cd "$build" && "./$target" -max_total_time="$secs" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      "$corpus" "${seeds[@]}")
done
echo "=== fuzzing finished without findings"
