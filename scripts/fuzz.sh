#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang (ASan + UBSan) and runs
# each for a bounded time (fuzz/README.md lists them). Usage:
#   scripts/fuzz.sh [seconds per target] [target...]
# (default 30 s; every target unless named). The corpus persists under
# build/fuzz/corpus/<target>, seeded from fuzz/seeds/<target> when that
# exists; crashes land in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
secs=${1:-30}
shift || true
build=$root/build/fuzz
all=(fuzz_frame fuzz_service fuzz_reassembly fuzz_genop_args fuzz_slots)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${all[@]}"); fi

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found (scripts/setup.sh)"; exit 1; }
CC=clang CXX=clang++ cmake -S fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target "${targets[@]}"

# Undefined behaviour is a finding too (the build recovers from it).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  seeds=()
  if [ -d "fuzz/seeds/$target" ]; then seeds=("$root/fuzz/seeds/$target"); fi
  # The frame target takes whole frames; the others read their input as
  # a stream of choices (FuzzedDataProvider): a few KiB is plenty, and
  # long inputs (long call sequences) from the start reach further.
  len=(-max_len=4096 -len_control=0)
  if [ "$target" = fuzz_frame ]; then len=(-max_len=65536); fi
  echo "=== $target: ${secs}s"
  (cd "$build" && "./$target" -max_total_time="$secs" "${len[@]}" \
      -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
      "$corpus" "${seeds[@]}")
done
echo "=== fuzzing finished without findings"
