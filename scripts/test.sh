#!/usr/bin/env bash
# Builds and runs every test: the whole suite in the default build and under
# AddressSanitizer+UBSan, the concurrency tests under ThreadSanitizer, and a
# short benchmark smoke run. Usage: scripts/test.sh [--quick]  (--quick: default build only)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/check-format.sh

# A compiler cache: CI builds three trees from a clean clone after every
# stop, and most sources did not change since the last one. Paths are hashed
# relative to the clone, so a clone elsewhere hits the same entries.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=ccache CMAKE_CXX_COMPILER_LAUNCHER=ccache \
    CMAKE_CUDA_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=$(pwd -P) CCACHE_NOHASHDIR=1 CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-20G}
  ccache --zero-stats >/dev/null || true
fi

jobs=$(nproc)
build_preset() {
  local preset=$1; shift
  echo "=== [$preset] configure + build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs" "$@"
}
run_preset() {
  local preset=$1; shift
  build_preset "$preset"
  echo "=== [$preset] test"
  ctest --preset "$preset" "$@"
}

run_preset default
# Loud when a suite CI expects was not built or skipped itself (a missing
# dependency); prints tests and time per suite.
/usr/bin/python3 scripts/check_suites.py build/default
# The presets use Ninja; `cmake -S . -B build` uses Unix Makefiles, which
# checks more at generate time (CUDA standards and architectures of every
# target that links CUDA objects: cmake/VaccelCuda.cmake). Configuring and
# generating with it catches those errors in some 15 s; nothing is built.
echo "=== [make] Unix Makefiles configure + generate"
cmake -G "Unix Makefiles" -S . -B build/make-check \
  -DPython_EXECUTABLE=/usr/bin/python3 >build/make-check.log 2>&1 ||
  { cat build/make-check.log; exit 1; }
# The rpc suite once more with reply slots on and every call polling (they
# are off in its tests otherwise: tests/rpc/rpc_test.h, reply_slots_on).
echo "=== [default] rpc tests with reply slots"
VACCEL_TEST_REPLY_SLOTS=1 ctest --preset default -L rpc
if [ "${1:-}" = "--quick" ]; then exit 0; fi

# Sanitizers: ASan/UBSan over the whole suite, TSan over the concurrency tests
# (the tsan test preset selects the "concurrency" label).
# Leaks inside third-party libraries (pocl's LLVM) are suppressed by name;
# see scripts/sanitizers/lsan.supp.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0" \
  run_preset asan
echo "=== [asan] rpc tests with reply slots"
VACCEL_TEST_REPLY_SLOTS=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizers/lsan.supp:print_suppressions=0" \
  ctest --preset asan -L rpc
# TSan runs the concurrency label only, so it builds only the executables
# those tests run (each names what it loads at run time as a dependency);
# the list comes from the default tree, so a new labelled suite joins itself.
tsan_list=$(ctest --test-dir build/default -L concurrency -N --show-only=json-v1 |
  /usr/bin/python3 -c '
import json, os, sys
print(" ".join(sorted({os.path.basename(t["command"][0])
                       for t in json.load(sys.stdin)["tests"] if t.get("command")})))')
read -r -a tsan_targets <<<"$tsan_list"
if [ "${#tsan_targets[@]}" -eq 0 ]; then
  echo "=== [tsan] no test carries the concurrency label in build/default" >&2
  exit 1
fi
echo "=== [tsan] targets: ${tsan_targets[*]}"
build_preset tsan --target "${tsan_targets[@]}"
echo "=== [tsan] test"
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 ctest --preset tsan

# libFuzzer over the frame and message decoders, the request handlers, the
# server's stream reassembly, genop args and slots: 5 targets, bounded.
echo "=== fuzz"
scripts/fuzz.sh "${VACCEL_FUZZ_SECONDS:-15}"

if command -v ccache >/dev/null; then ccache --show-stats | head -n 8; fi
echo "=== all tests passed"
