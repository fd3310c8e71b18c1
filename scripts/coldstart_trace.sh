#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Where a new sandbox's first ResNet-18 result goes (issue 20's cached first
# result): the attached cold-start case with the model named by digest,
# the agent (--trace) and every client (VACCEL_RPC_TRACE) tracing each
# request, so that a sandbox's first run and its warm ones compare stage by
# stage. On the GPU machine, from the repo root, with devkit/
# (scripts/device-test.sh pack): scripts/coldstart_trace.sh [N [more bench_coldstart.py
# arguments, e.g. --agent-arg=--no-pin-shm]]
# Writes the traces and the agent's log under $OUT (or /tmp/cst/out).
set -u
cd "$(dirname "$0")/.."
T=/tmp/cst; mkdir -p $T
O=${OUT:-$T/out}; mkdir -p "$O"
export LD_LIBRARY_PATH=$PWD/devkit/lib:$PWD/devkit/deps:${LD_LIBRARY_PATH:-}
prefix="$PWD/devkit/lib/cmake;$PWD/devkit;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
for d in plugins/torch bench/coldstart; do
	cmake -S $d -B $T/$(basename $d) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$PWD/devkit/deps" >$T/cfg.log 2>&1 || { tail -5 $T/cfg.log; exit 1; }
	cmake --build $T/$(basename $d) >$T/b.log 2>&1 || { tail -5 $T/b.log; exit 1; }
done
python3 scripts/make_resnet18.py $T/r18.pt >/dev/null 2>&1 || exit 1
plugin=$(find $T/torch -name libvaccel-torch.so | head -1)
python3 scripts/bench_coldstart.py --mode run --model $T/r18.pt --shape 3x224x224 --device cuda \
	-n "${1:-4}" "${@:2}" --cases proc-attach --digest-index --vaccel-cli /nonexistent \
	--agent devkit/bin/vaccel-agent --attach-tool devkit/bin/coldstart-attach \
	--client $T/coldstart/coldstart-client --native $T/coldstart/coldstart-native \
	--baseline $T/coldstart/coldstart-baseline --torch-plugin "$plugin" \
	--rpc-plugin devkit/lib/libvaccel-rpc.so --client-trace "$O/clients" \
	--agent-arg=--trace="$O/agent.tsv" --keep-agent-log "$O/agent.log" 2>&1 | tee "$O/coldstart.txt" |
	grep -E "median|goal|natively"
echo "--- agent trace: model runs"; grep -E "^#|TorchModelRun|MapRegion" "$O/agent.tsv" | cut -f1-3,7-11 | head -60
