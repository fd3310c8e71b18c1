#!/usr/bin/env bash
# Fails if any C/C++ source differs from what clang-format (.clang-format at
# the root) would write. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.c' '*.cpp' '*.h' '*.hpp')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i --style=file "${files[@]}"
  exit 0
fi
clang-format --dry-run --Werror --style=file "${files[@]}"
echo "format: ${#files[@]} files clean"
