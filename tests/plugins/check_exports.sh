#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# check_exports.sh EXPECTED PLUGIN...: fails unless every PLUGIN's defined
# dynamic symbols are exactly EXPECTED (space-separated, sorted). A plugin
# exports what the runtime's loader looks up and nothing more: anything else
# is an interface nobody promised, and a clash with another plugin's copy.
set -u
expected=$1
shift
status=0
for plugin in "$@"; do
	got=$(nm -D --defined-only "$plugin" | awk '{print $NF}' | sort | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$expected" ]; then
		echo "ok   $plugin: $got"
	else
		echo "FAIL $plugin exports: $got (expected: $expected)"
		status=1
	fi
done
[ $# -gt 0 ] || { echo "FAIL no plugin given"; status=1; }
exit $status
