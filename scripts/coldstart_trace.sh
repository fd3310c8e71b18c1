#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Where a new sandbox's first ResNet-18 result goes (issue 20's cached first
# result): the attached cold-start case with the model named by digest,
# the agent (--trace) and every client (VACCEL_RPC_TRACE) tracing each
# request, so that a sandbox's first run and its warm ones compare stage by
# stage. On the GPU machine, from the repo root, with devkit/
# (scripts/device-test.sh pack): scripts/coldstart_trace.sh [N [more bench_coldstart.py
# arguments, e.g. --agent-arg=--no-pin-shm]]
# Writes the traces and the agent's log under $OUT (or
# /tmp/cst-<devkit>/out).
# DEVKIT: another devkit (an A/B against an older build).
set -u
cd "$(dirname "$0")/.."
D=$(realpath "${DEVKIT:-devkit}")
T=/tmp/cst-$(basename "$D"); mkdir -p $T
O=${OUT:-$T/out}; mkdir -p "$O"
export LD_LIBRARY_PATH=$D/lib:$D/deps:${LD_LIBRARY_PATH:-}
prefix="$D/lib/cmake;$D;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
for d in plugins/torch bench/coldstart; do
	cmake -S $d -B $T/$(basename $d) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
		-DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$D/deps" >$T/cfg.log 2>&1 || { tail -5 $T/cfg.log; exit 1; }
	cmake --build $T/$(basename $d) >$T/b.log 2>&1 || { tail -5 $T/b.log; exit 1; }
done
python3 scripts/make_resnet18.py $T/r18.pt >/dev/null 2>&1 || exit 1
plugin=$(find $T/torch -name libvaccel-torch.so | head -1)
python3 scripts/bench_coldstart.py --mode run --model $T/r18.pt --shape 3x224x224 --device cuda \
	-n "${1:-4}" "${@:2}" --cases proc-attach --digest-index --vaccel-cli /nonexistent \
	--agent "$D/bin/vaccel-agent" --attach-tool "$D/bin/coldstart-attach" \
	--client $T/coldstart/coldstart-client --native $T/coldstart/coldstart-native \
	--baseline $T/coldstart/coldstart-baseline --torch-plugin "$plugin" \
	--rpc-plugin "$D/lib/libvaccel-rpc.so" --client-trace "$O/clients" \
	--agent-arg=--trace="$O/agent.tsv" --keep-agent-log "$O/agent.log" 2>&1 | tee "$O/coldstart.txt" |
	grep -E "median|goal|natively"
echo "--- agent trace: model runs"; grep -E "^#|TorchModelRun|MapRegion" "$O/agent.tsv" | cut -f1-3,7-11 | head -60
