#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What a first call after a pause costs without vAccel: a warm
# coldstart-native process (COLDSTART_NATIVE_SERVE=1) runs ResNet-18 on
# CUDA once after sleeping 0 ms to 1 s, then once more, and prints the
# medians of 5. On the GPU machine, from the repo root, with devkit/
# (scripts/device-test.sh pack): scripts/gpu_idle_gap.sh
set -u
cd "$(dirname "$0")/.."
T=/tmp/idle; mkdir -p $T
export LD_LIBRARY_PATH=$PWD/devkit/lib:$PWD/devkit/deps:${LD_LIBRARY_PATH:-}
prefix="$PWD/devkit/lib/cmake;$PWD/devkit;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
cmake -S bench/coldstart -B $T/cs -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXE_LINKER_FLAGS="-Wl,-rpath-link,$PWD/devkit/deps" > $T/cfg.log 2>&1 || { tail -5 $T/cfg.log; exit 1; }
cmake --build $T/cs --target coldstart-native > $T/b.log 2>&1 || { tail -5 $T/b.log; exit 1; }
python3 scripts/make_resnet18.py $T/r18.pt > /dev/null 2>&1 || exit 1
python3 - <<PY
import subprocess, time, os, statistics
env = dict(os.environ, COLDSTART_NATIVE_SERVE="1", VACCEL_TORCH_DEVICE="cuda")
p = subprocess.Popen(["$T/cs/coldstart-native", "run", "$T/r18.pt", "3x224x224"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
for line in p.stdout:
    if line.startswith("phase warm"): break
def call():
    p.stdin.write("c\n"); p.stdin.flush()
    return int(p.stdout.readline().split()[1])
for gap in (0, 0.003, 0.03, 0.1, 0.3, 1.0):
    after, nxt = [], []
    for _ in range(5):
        time.sleep(gap); after.append(call()); nxt.append(call())
    print("gap %5.3f s: first call %6.0f us, the next %6.0f us (medians of 5)" % (gap, statistics.median(after), statistics.median(nxt)), flush=True)
p.stdin.close(); p.wait()
PY
