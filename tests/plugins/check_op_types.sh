#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_op_types.sh CXX SOURCE CXXFLAGS...: vaccel/plugin_ops.hpp accepts op
# functions of the right type (SOURCE compiles as it is) and refuses every
# wrong one (SOURCE with -DCASE=1..4 must fail, on the header's assertion).
set -u
cxx=$1
src=$2
shift 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
if "$cxx" -std=c++20 -fsyntax-only "$@" "$src" >"$log" 2>&1; then
	echo "ok   right signatures compile"
else
	echo "FAIL right signatures do not compile:"
	cat "$log"
	status=1
fi
for c in 1 2 3 4; do
	if "$cxx" -std=c++20 -fsyntax-only -DCASE=$c "$@" "$src" >"$log" 2>&1; then
		echo "FAIL case $c compiled"
		status=1
	elif grep -q "not the op's" "$log"; then
		echo "ok   case $c refused by the signature check"
	else
		echo "FAIL case $c failed for another reason:"
		cat "$log"
		status=1
	fi
done
exit $status
