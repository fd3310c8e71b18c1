#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU tests of the cuda plugin, on a machine other than the build machine.
#
#   scripts/device-test.sh pack   # on the Debian build machine (needs nvcc)
#   scripts/device-test.sh run    # on the GPU machine, from the repo root
#   scripts/device-test.sh overhead  # there too: the agent's cost, studied
#     (BENCH_CASES, BENCH_REPEAT, BENCH_REPS, BENCH_MIN_TIME, BENCH_AGENT_ARGS;
#     BENCH_VARIANTS="A=1 B=2;A=3": environments compared run by run, e.g.
#     "VACCEL_RPC_POLL_US=0;VACCEL_BENCH_AGENT_ARGS=--spin-us=0";
#     BENCH_TRACE=1: per-request agent timings)
#
# pack: configures a Release build in build/device with -DVACCEL_GPU_TESTS=ON,
#   builds libvaccel, the small plugins (noop, exec, rpc, cuda), vaccel-agent,
#   the cuda tests (gtest linked statically) and the sgemm/minmax examples,
#   and copies them, stripped, into devkit/ (under the repo root; keep it out
#   of git: .gitignore lists it) with a MANIFEST:
#     devkit/bin       test_cuda, test_cuda_gpu, bench_cuda, vaccel-agent,
#                      examples
#     devkit/lib       libvaccel.so*, libvaccel-{noop,exec,rpc,cuda}.so,
#                      cmake/vaccel (find_package) and pkgconfig
#     devkit/include   the public headers
#     devkit/deps      shared libraries the binaries need besides glibc,
#                      libstdc++ and CUDA (libcurl, toml++, protobuf-lite...),
#                      used only where the GPU machine lacks them
#     devkit/deps/toolchain  libstdc++ and libgcc_s, used only where the GPU
#                      machine's are too old
#     devkit/share     test data
#   It fails if devkit/ would exceed 40 MiB.
#
# run: needs no build tools. Prints nvidia-smi, finds cuBLAS (libcublas.so.13
#   from the CUDA toolkit or from the pip wheels torch installs), runs the
#   packed tests and examples with LD_LIBRARY_PATH and VACCEL_PLUGINS
#   pointing into devkit/, and prints a summary. The exit status is the
#   number of failed steps (0: all passed). Without a GPU only the steps that
#   need none run; the others fail as "no GPU". When $OUT is set (the device
#   runner's output folder), gtest XML reports and logs are written there.
#   The torch plugin step is a hook the lead fills in: torch_plugin_step.
#   STEPS='sgemm zero copy' runs only bench_cuda's sgemm: cuBLAS in process
#   vs through the agent with the program's own buffers vs with vAccel
#   buffers (zero copy), with same-run ratios.
#   STEPS='cold start' runs scripts/bench_coldstart.py with ResNet-18
#   (BENCH_COLDSTART_N sandboxes per case; it builds the torch plugin itself
#   when the torch step did not run).
#
# Environment: STEPS (run: an extended regular expression; only the steps
# whose names match run, e.g. STEPS='torch|memory cap'), VACCEL_DEVKIT
# (default <repo>/devkit), JOBS (pack: build
# jobs, default 2), CUBLAS_DIR (run: folder holding libcublas.so.13, when the
# search below does not find it), TEST_TIMEOUT (run: seconds per step,
# default 600).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEVKIT=${VACCEL_DEVKIT:-$ROOT/devkit}
BUILD=$ROOT/build/device
MAX_MIB=40

die() {
	echo "device-test: $*" >&2
	exit 1
}

usage() {
	sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

# --- pack ------------------------------------------------------------------

# Libraries every Linux machine has (glibc) or that the GPU machine must
# provide itself (CUDA: its driver and toolkit). Matched against sonames.
is_system_lib() {
	case "$1" in
	linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libdl.so.* | \
		libpthread.so.* | librt.so.* | libresolv.so.* | libutil.so.* | \
		libanl.so.* | libnsl.so.*) return 0 ;;
	libcuda.so.* | libcudart.so.* | libcublas.so.* | libcublasLt.so.* | \
		libnvidia-*) return 0 ;;
	esac
	return 1
}

# The resolved paths of the shared libraries @p files need, outside devkit.
runtime_deps() {
	LD_LIBRARY_PATH=$DEVKIT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
		ldd "$@" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
		sort -u
}

# Copies the targets' files that exist into devkit/.
pack() {
	command -v cmake >/dev/null || die "pack needs cmake"
	if ! command -v nvcc >/dev/null && [ ! -x /usr/local/cuda/bin/nvcc ]; then
		die "pack needs nvcc (the CUDA toolkit): the cuda plugin would not be built"
	fi
	echo "== configure $BUILD (Release, VACCEL_GPU_TESTS=ON)"
	mkdir -p "$BUILD"
	local log=$BUILD/device-test-configure.log
	cmake --preset release -B "$BUILD" -DVACCEL_GPU_TESTS=ON \
		-DVACCEL_BUILD_BENCH=ON -DCMAKE_INSTALL_PREFIX="$DEVKIT" >"$log" 2>&1 ||
		{
			tail -30 "$log"
			die "configure failed (log: $log)"
		}
	grep -E "cuda plugin" "$log" || true

	local wanted=(vaccel vaccel-agent vaccel-noop vaccel-exec vaccel-rpc vaccel-cuda
		test_cuda test_cuda_gpu bench_cuda example-sgemm example-sgemm_generic example-minmax
		coldstart-attach bench_rpc bench_rpc_data)
	local have targets=()
	have=$(cmake --build "$BUILD" --target help 2>/dev/null | sed -n 's/^\([^: ]*\): .*/\1/p')
	for t in "${wanted[@]}"; do
		if grep -qx -- "$t" <<<"$have"; then
			targets+=("$t")
		else
			echo "   (target $t does not exist here: not packed)"
		fi
	done
	for t in vaccel vaccel-cuda test_cuda test_cuda_gpu; do
		grep -qx -- "$t" <<<"$have" || die "target $t is missing: nothing to test on the GPU"
	done
	echo "== build ${targets[*]}"
	cmake --build "$BUILD" -j"${JOBS:-2}" --target "${targets[@]}"

	echo "== copy into $DEVKIT"
	rm -rf "$DEVKIT"
	mkdir -p "$DEVKIT"/{bin,lib,deps/toolchain,share}
	# Headers and the CMake/pkg-config package, so that plugins built on
	# the GPU machine (torch) can find_package(vaccel).
	cmake --install "$BUILD" --prefix "$DEVKIT" --component dev >/dev/null
	cp -P "$BUILD"/lib/libvaccel.so* "$DEVKIT/lib/"
	local f
	for f in noop exec rpc cuda; do
		[ -f "$BUILD/lib/libvaccel-$f.so" ] && cp "$BUILD/lib/libvaccel-$f.so" "$DEVKIT/lib/"
	done
	for f in test_cuda test_cuda_gpu bench_cuda vaccel-agent sgemm sgemm_generic minmax coldstart-attach \
		bench_rpc bench_rpc_data; do
		[ -f "$BUILD/bin/$f" ] && cp "$BUILD/bin/$f" "$DEVKIT/bin/"
	done
	cp "$ROOT/examples/data/input_2048.csv" "$DEVKIT/share/"
	# Google Benchmark (headers and the shared library) for bench_torch,
	# built on the GPU machine against its libtorch.
	if [ -f /usr/include/benchmark/benchmark.h ] && [ -e /usr/lib/x86_64-linux-gnu/libbenchmark.so ]; then
		mkdir -p "$DEVKIT/deps/benchmark/include" "$DEVKIT/deps/benchmark/lib"
		cp -r /usr/include/benchmark "$DEVKIT/deps/benchmark/include/"
		local bm bm_soname
		bm=$(readlink -f /usr/lib/x86_64-linux-gnu/libbenchmark.so)
		bm_soname=$(objdump -p "$bm" | awk '$1 == "SONAME" { print $2 }')
		cp "$bm" "$DEVKIT/deps/benchmark/lib/$bm_soname"
		ln -s "$bm_soname" "$DEVKIT/deps/benchmark/lib/libbenchmark.so"
	fi

	# Shared libraries besides glibc and CUDA. libstdc++/libgcc_s go apart:
	# the GPU machine's own are newer and preferred.
	local elfs=("$DEVKIT"/bin/* "$DEVKIT"/lib/*.so*)
	local soname path
	while read -r soname path; do
		[ -n "$soname" ] || continue
		case "$path" in "$DEVKIT"/*) continue ;; esac
		is_system_lib "$soname" && continue
		case "$soname" in
		libstdc++.so.* | libgcc_s.so.*) cp -L "$path" "$DEVKIT/deps/toolchain/$soname" ;;
		*) cp -L "$path" "$DEVKIT/deps/$soname" ;;
		esac
	done < <(runtime_deps "${elfs[@]}")

	# Debug info is most of the size; the tests need none of it.
	find "$DEVKIT/bin" "$DEVKIT/lib" "$DEVKIT/deps" -type f \( -perm -u+x -o -name '*.so*' \) \
		-exec strip --strip-unneeded {} + 2>/dev/null || true

	write_manifest
	local size_kib
	size_kib=$(du -sk "$DEVKIT" | cut -f1)
	echo "== devkit: $((size_kib / 1024)) MiB ($size_kib KiB) in $DEVKIT"
	[ "$size_kib" -le $((MAX_MIB * 1024)) ] || die "devkit is larger than $MAX_MIB MiB"
	echo "== done; on the GPU machine, from the repo root: scripts/device-test.sh run"
}

write_manifest() {
	local m=$DEVKIT/MANIFEST
	{
		echo "# vAccel devkit for scripts/device-test.sh run"
		echo "built:    $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n) ($(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"'))"
		echo "commit:   $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
		echo "cuda:     $(sed -n 's/.*vaccel: cuda plugin: //p' "$BUILD/device-test-configure.log")"
		echo "glibc:    $(ldd --version | head -1)"
		echo "# sha256 bytes path"
		(cd "$DEVKIT" && find . -type f ! -name MANIFEST | sort | while read -r f; do
			echo "$(sha256sum "$f" | cut -d' ' -f1) $(stat -c %s "$f") ${f#./}"
		done)
	} >"$m"
}

# --- run -------------------------------------------------------------------

RESULTS=()
FAILURES=0
HAVE_GPU=0
OUTDIR=""

# Whether step @p name is among those STEPS (an extended regular
# expression matched against step names; unset: all) selects. The first
# two steps set up the others: always.
selected() {
	case $1 in
	"nvidia-smi" | "shared libraries resolve") return 0 ;;
	esac
	[ -z "${STEPS:-}" ] || grep -Eq -- "$STEPS" <<<"$1"
}

# step <name> <command...>: runs one step; 0 passes, 77 skips, else fails.
step() {
	local name=$1
	shift
	selected "$name" || return 0
	echo
	echo "=== $name"
	local rc=0
	"$@" || rc=$?
	case $rc in
	0) RESULTS+=("PASS  $name") ;;
	77) RESULTS+=("SKIP  $name") ;;
	*)
		RESULTS+=("FAIL  $name (exit $rc)")
		FAILURES=$((FAILURES + 1))
		;;
	esac
}

# A step that needs a GPU.
gpu_step() {
	local name=$1
	shift
	selected "$name" || return 0
	if [ "$HAVE_GPU" = 1 ]; then
		step "$name" "$@"
	else
		echo
		echo "=== $name: not run, no GPU"
		RESULTS+=("FAIL  $name (no GPU)")
		FAILURES=$((FAILURES + 1))
	fi
}

with_timeout() {
	if command -v timeout >/dev/null; then
		timeout "${TEST_TIMEOUT:-600}" "$@"
	else
		"$@"
	fi
}

check_gpu() {
	if command -v nvidia-smi >/dev/null && nvidia-smi; then
		nvidia-smi -L | grep -q '^GPU ' && HAVE_GPU=1
	elif [ -e /dev/nvidia0 ]; then
		echo "nvidia-smi is missing but /dev/nvidia0 exists: trying the GPU steps"
		HAVE_GPU=1
	fi
	if [ "$HAVE_GPU" = 1 ]; then
		return 0
	fi
	echo "no NVIDIA GPU visible (no nvidia-smi or it lists no GPU): the GPU steps cannot run"
	return 1
}

# Folder holding libcublas.so.13: CUBLAS_DIR, the loader cache, the CUDA
# toolkit, or the nvidia-* pip wheels next to torch.
find_cublas() {
	local d
	for d in "${CUBLAS_DIR:-}" ${CUDA_HOME:+"$CUDA_HOME/lib64"} ${CUDA_HOME:+"$CUDA_HOME/lib"} \
		/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
		/usr/local/cuda-13*/lib64 /usr/local/cuda-13*/targets/x86_64-linux/lib; do
		[ -n "$d" ] && [ -e "$d/libcublas.so.13" ] && {
			echo "$d"
			return 0
		}
	done
	if ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.13 '; then
		echo "" # the loader finds it by itself
		return 0
	fi
	local py
	for py in python3 /usr/bin/python3; do
		command -v "$py" >/dev/null || continue
		d=$("$py" - <<'EOF' 2>/dev/null || true
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()]
for r in roots:
    for p in sorted(glob.glob(os.path.join(r, "nvidia", "**", "libcublas.so.13"), recursive=True)):
        print(os.path.dirname(p)); sys.exit(0)
EOF
		)
		[ -n "$d" ] && {
			echo "$d"
			return 0
		}
	done
	return 1
}

# Lines of ldd output about libraries that are missing or too old.
unresolved() {
	ldd "$DEVKIT"/bin/* "$DEVKIT"/lib/*.so 2>&1 | grep -E 'not found' | sort -u || true
}

setup_libs() {
	local cublas
	if ! cublas=$(find_cublas); then
		echo "libcublas.so.13 not found: set CUBLAS_DIR to the folder that holds it"
		return 1
	fi
	echo "cuBLAS: ${cublas:-found by the loader}"
	export LD_LIBRARY_PATH=$DEVKIT/lib${cublas:+:$cublas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
	local missing
	missing=$(unresolved)
	if [ -n "$missing" ]; then
		echo "missing on this machine, using devkit/deps:"
		echo "  ${missing//$'\n'/$'\n'  }"
		export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$DEVKIT/deps
		missing=$(unresolved)
	fi
	if [ -n "$missing" ] && grep -q 'GLIBCXX\|GCC_\|CXXABI' <<<"$missing"; then
		echo "libstdc++ here is too old, using devkit/deps/toolchain"
		export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$DEVKIT/deps/toolchain
		missing=$(unresolved)
	fi
	echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
	if [ -n "$missing" ]; then
		echo "still unresolved:"
		echo "  ${missing//$'\n'/$'\n'  }"
		return 1
	fi
}

# run_gtest <binary>: the packed test binary, with an XML report in $OUT.
run_gtest() {
	local bin=$1
	local args=(--gtest_color=no)
	[ -n "$OUTDIR" ] && args+=("--gtest_output=xml:$OUTDIR/$bin.xml")
	VACCEL_TEST_CUDA_PLUGIN=$DEVKIT/lib/libvaccel-cuda.so \
		VACCEL_TEST_DATA_DIR=$DEVKIT/share \
		with_timeout "$DEVKIT/bin/$bin" "${args[@]}"
}

# Checks the 512x512 C the sgemm example wrote against float64 numpy (or
# torch) on the same inputs; 77 when neither is installed.
check_sgemm_file() {
	local py=python3
	command -v "$py" >/dev/null || return 77
	"$py" - "$1" <<'EOF'
import sys
D = 512
try:
    import numpy as np
    i = np.arange(D, dtype=np.float64)
    m = np.outer(i, i) / D  # exact in float32 too: i*j < 2^24, / 2^9
    ref = 32412.0 * (m @ m) + 2123.0 * m
    c = np.fromfile(sys.argv[1], dtype=np.float32).astype(np.float64).reshape(D, D)
    err = float(np.abs(c - ref).max() / np.abs(ref).max())
except ImportError:
    try:
        import torch
    except ImportError:
        print("neither numpy nor torch: reference check skipped")
        sys.exit(77)
    i = torch.arange(D, dtype=torch.float64)
    m = torch.outer(i, i) / D
    ref = 32412.0 * (m @ m) + 2123.0 * m
    raw = open(sys.argv[1], "rb").read()
    c = torch.frombuffer(bytearray(raw), dtype=torch.float32).to(torch.float64).reshape(D, D)
    err = float((c - ref).abs().max() / ref.abs().max())
print(f"sgemm example: max error relative to max |C| = {err:.3g}")
sys.exit(0 if err < 1e-5 else 1)
EOF
}

example_sgemm() {
	local tmp=$1
	VACCEL_PLUGINS=$DEVKIT/lib/libvaccel-cuda.so with_timeout "$DEVKIT/bin/sgemm" 1 "$tmp/c_cuda.bin" || return 1
	VACCEL_PLUGINS=$DEVKIT/lib/libvaccel-cuda.so with_timeout "$DEVKIT/bin/sgemm_generic" 1 "$tmp/c_genop.bin" || return 1
	cmp "$tmp/c_cuda.bin" "$tmp/c_genop.bin" || {
		echo "sgemm and sgemm_generic (genop) differ"
		return 1
	}
	local rc=0
	check_sgemm_file "$tmp/c_cuda.bin" || rc=$?
	# Without numpy or torch the GPU part still passed.
	[ "$rc" = 77 ] && return 0
	return "$rc"
}

# min/max of input_2048.csv clamped to [0, 4000], from awk.
example_minmax() {
	local want got
	want=$(awk 'BEGIN { mn = "x" } { v = $1 + 0; if (v < 0) v = 0; if (v > 4000) v = 4000;
		if (mn == "x" || v < mn) mn = v; if (mx == "" || v > mx) mx = v }
		END { printf "min: %f max: %f\n", mn, mx }' "$DEVKIT/share/input_2048.csv")
	got=$(VACCEL_PLUGINS=$DEVKIT/lib/libvaccel-cuda.so with_timeout "$DEVKIT/bin/minmax" 2048 \
		"$DEVKIT/share/input_2048.csv" 0 4000 | grep '^min:') || return 1
	echo "got:      $got"
	echo "expected: $want"
	[ "$got" = "$want" ]
}

# The sgemm example through the rpc plugin and a vaccel-agent that runs the
# cuda plugin: the result must equal the local one bit for bit.
# The agent's accelerator memory gauge (issue 18) against nvidia-smi: the
# agent whose log is @p 1 serves /metrics on the port it printed; its
# cuda:0 total must be the GPU's, and used above zero after an op ran.
accelerator_gauge() {
	local port
	port=$(sed -n 's|.*metrics on http://127\.0\.0\.1:\([0-9]*\)/metrics.*|\1|p' "$1" | head -1)
	[ -n "$port" ] || { echo "the agent printed no metrics port"; return 1; }
	local total_mib
	total_mib=$(nvidia-smi --id=0 --query-gpu=memory.total --format=csv,noheader,nounits | tr -d ' ')
	python3 - "$port" "$total_mib" <<'PY'
import re, sys, urllib.request
page = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10).read().decode()
got = dict(re.findall(r'vaccel_agent_accelerator_memory_bytes\{device="cuda:0",state="(\w+)"\} (\d+)', page))
want = int(sys.argv[2])  # MiB, as nvidia-smi rounds it
print("accelerator gauge: cuda:0 used %s total %s bytes (nvidia-smi: %d MiB)" % (got.get("used"), got.get("total"), want))
ok = "total" in got and int(got["total"]) // (1 << 20) == want and int(got.get("used", 0)) > 0
sys.exit(0 if ok else 1)
PY
}

agent_sgemm() {
	local tmp=$1
	[ -x "$DEVKIT/bin/vaccel-agent" ] && [ -f "$DEVKIT/lib/libvaccel-rpc.so" ] || return 77
	local sock=$tmp/agent.sock
	VACCEL_PLUGINS=$DEVKIT/lib/libvaccel-cuda.so "$DEVKIT/bin/vaccel-agent" -a "unix://$sock" \
		--metrics 127.0.0.1:0 >"$tmp/agent.log" 2>&1 &
	local agent=$!
	local _
	for _ in $(seq 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	local rc=0
	VACCEL_PLUGINS=$DEVKIT/lib/libvaccel-rpc.so VACCEL_RPC_ADDRESS=unix://$sock \
		with_timeout "$DEVKIT/bin/sgemm" 1 "$tmp/c_rpc.bin" || rc=1
	[ "$rc" = 0 ] && { accelerator_gauge "$tmp/agent.log" || rc=1; }
	kill "$agent" 2>/dev/null || true
	wait "$agent" 2>/dev/null || true
	if [ "$rc" != 0 ]; then
		echo "agent log:"
		tail -20 "$tmp/agent.log"
		return 1
	fi
	cmp "$tmp/c_cuda.bin" "$tmp/c_rpc.bin" || {
		echo "sgemm through the agent differs from the local run"
		return 1
	}
	echo "sgemm through vaccel-agent matches the local run"
}

# sgemm and vector add through the cuda plugin, in process and through
# vaccel-agent, against cuBLAS and the plugin's kernel called directly
# (bench/bench_cuda.cpp).
cuda_bench() {
	[ -x "$DEVKIT/bin/bench_cuda" ] || return 77
	local log=${OUTDIR:-$1}/bench_cuda.txt
	VACCEL_BENCH_CUDA_PLUGIN=$DEVKIT/lib/libvaccel-cuda.so \
		VACCEL_BENCH_RPC_PLUGIN=$DEVKIT/lib/libvaccel-rpc.so \
		VACCEL_BENCH_AGENT=$DEVKIT/bin/vaccel-agent \
		timeout "${BENCH_TIMEOUT:-300}" "$DEVKIT/bin/bench_cuda" \
		--benchmark_min_time="${BENCH_MIN_TIME:-1}" 2>&1 | tee "$log"
	grep -q "sgemm agent" "$log"
}

# sgemm through vaccel-agent with the matrices in vAccel buffers
# (vaccel_buffer_alloc(): zero copy, the agent works on them in place) next
# to the same call with the program's own buffers and to cuBLAS in process,
# all in one bench_cuda run that prints the ratios (issue 17: within 15% of
# cuBLAS at n = 1024 and 2048). STEPS='sgemm zero copy' runs it alone.
cuda_sgemm_zero_copy() {
	[ -x "$DEVKIT/bin/bench_cuda" ] || return 77
	local log=${OUTDIR:-$1}/bench_cuda_sgemm_zero_copy.txt
	VACCEL_BENCH_CUDA_PLUGIN=$DEVKIT/lib/libvaccel-cuda.so \
		VACCEL_BENCH_RPC_PLUGIN=$DEVKIT/lib/libvaccel-rpc.so \
		VACCEL_BENCH_AGENT=$DEVKIT/bin/vaccel-agent \
		timeout "${BENCH_TIMEOUT:-300}" "$DEVKIT/bin/bench_cuda" \
		--benchmark_filter='BM_cuda_sgemm_(direct|agent|agent_buffers)/' \
		--benchmark_min_time="${BENCH_MIN_TIME:-1}" 2>&1 | tee "$log"
	grep -q "sgemm agent buffers" "$log"
}

# ---- HOOK (lead): the torch plugin ------------------------------------------
# Build the torch plugin here, on the GPU machine, with its standalone CMake
# against this machine's libtorch and devkit's vAccel package, then run its
# GPU tests. Something like:
#   prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
#   cmake -S "$ROOT/plugins/torch" -B "$tmp/torch" -G Ninja \
#       -DCMAKE_PREFIX_PATH="$prefix;$DEVKIT" -Dvaccel_DIR="$DEVKIT/lib/cmake/vaccel"
#   cmake --build "$tmp/torch" && <run its tests with VACCEL_PLUGINS=...>
# Return 0 on success, 77 to report SKIP, anything else to fail.
torch_plugin_step() {
	# Builds plugins/torch standalone against devkit's vAccel and the
	# machine's libtorch (pip's CUDA build), then runs upstream's traced
	# CNN through torch model run on the GPU with the torch_inference
	# example, and the classify example with the Fashion-MNIST model.
	local tmp=$1
	local prefix
	prefix="$DEVKIT/lib/cmake;$DEVKIT;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
	cmake -S "$ROOT/plugins/torch" -B "$tmp/torch" -G Ninja \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/torch.cfg.log" 2>&1 ||
		{ tail -20 "$tmp/torch.cfg.log"; return 1; }
	cmake --build "$tmp/torch" >"$tmp/torch.build.log" 2>&1 ||
		{ tail -30 "$tmp/torch.build.log"; return 1; }
	local plugin
	plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' | head -1)
	gcc -O2 -I"$DEVKIT/include" -I"$ROOT/examples" "$ROOT/examples/torch_inference.c" \
		"$ROOT/examples/common/example.c" "$ROOT/examples/common/input.c" \
		-L"$DEVKIT/lib" -lvaccel -Wl,-rpath,"$DEVKIT/lib" -o "$tmp/torch_inference" || return 1
	VACCEL_PLUGINS=$plugin VACCEL_TORCH_DEVICE=cuda \
		"$tmp/torch_inference" "$ROOT/examples/data/example.jpg" \
		"$ROOT/examples/data/cnn_trace.pt" "$ROOT/examples/data/imagenet.txt" 5 || return 1
}

# ResNet-18 (random weights, batch 1, 3x224x224) on the GPU: native libtorch,
# the torch plugin in this process, and the torch plugin inside vaccel-agent
# reached through the rpc plugin over a unix socket, all in one bench_torch
# run (bench/bench_torch.cpp; bench/standalone builds it here).
torch_resnet_bench() {
	local tmp=$1
	local plugin
	plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' 2>/dev/null | head -1)
	[ -n "$plugin" ] || { echo "the torch step did not build the plugin"; return 1; }
	[ -d "$DEVKIT/deps/benchmark" ] || { echo "devkit has no Google Benchmark"; return 1; }
	python3 "$ROOT/scripts/make_resnet18.py" "$tmp/resnet18.pt" || return 1
	local prefix
	prefix="$DEVKIT/lib/cmake;$DEVKIT;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
	cmake -S "$ROOT/bench/standalone" -B "$tmp/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_PREFIX_PATH="$prefix" -DBENCHMARK_ROOT="$DEVKIT/deps/benchmark" \
		>"$tmp/bench.cfg.log" 2>&1 || { tail -20 "$tmp/bench.cfg.log"; return 1; }
	cmake --build "$tmp/bench" >"$tmp/bench.build.log" 2>&1 ||
		{ tail -30 "$tmp/bench.build.log"; return 1; }
	# BENCH_MODEL: another TorchScript model instead of ResNet-18.
	# BENCH_INPUTS: input shapes to run (a smaller image separates the
	# cost of moving the input from the fixed cost of a call).
	local input log
	for input in ${BENCH_INPUTS:-1x3x224x224}; do
		log=${OUTDIR:-$tmp}/bench_torch_resnet18_$input.txt
		echo "--- input $input"
		LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$DEVKIT/deps/benchmark/lib \
			VACCEL_BENCH_TORCH_PLUGIN=$plugin VACCEL_BENCH_TORCH_MODEL=${BENCH_MODEL:-$tmp/resnet18.pt} \
			VACCEL_BENCH_TORCH_INPUT=$input VACCEL_BENCH_TORCH_BATCHES=${BENCH_BATCHES:-1} \
			VACCEL_BENCH_TORCH_REPS=${BENCH_REPS:-5} VACCEL_TORCH_DEVICE=cuda \
			VACCEL_BENCH_TORCH_WARMUP=${BENCH_WARMUP:-100} \
			VACCEL_BENCH_AGENT=$DEVKIT/bin/vaccel-agent \
			VACCEL_BENCH_RPC_PLUGIN=$DEVKIT/lib/libvaccel-rpc.so \
			timeout "${BENCH_TIMEOUT:-300}" "$tmp/bench/bench_torch" \
			--benchmark_min_time="${BENCH_MIN_TIME:-1}" 2>&1 | tee "$log"
		grep -q "through the agent" "$log" || return 1
	done
}

# The transport's own cost on this host (issue 17): bench_rpc's noop through
# the agent against raw unix and tcp ping-pongs (blocking and polling like
# the agent), and bench_rpc_data's client processes against a raw echo
# server, with CPU time per call; same-run ratios. Needs no GPU.
rpc_roundtrip_step() {
	local b
	for b in bench_rpc bench_rpc_data; do
		[ -x "$DEVKIT/bin/$b" ] || { echo "devkit has no $b"; return 1; }
	done
	local t log
	for t in unix tcp; do
		log=${OUTDIR:-$tmp}/bench_rpc_$t.txt
		echo "--- $t"
		VACCEL_BENCH_TRANSPORT=$t timeout 300 "$DEVKIT/bin/bench_rpc" \
			--benchmark_min_time="${BENCH_MIN_TIME:-1}" 2>&1 | tee "$log"
		grep -q "the blocking ping-pong" "$log" || return 1
	done
	log=${OUTDIR:-$tmp}/bench_rpc_data.txt
	timeout 300 "$DEVKIT/bin/bench_rpc_data" --mib 16 --clients 8,64,256 --seconds 2 2>&1 | tee "$log"
}

# Cold start on the GPU (issue 20; scripts/bench_coldstart.py): N host
# processes one after another, each a new sandbox running ResNet-18 through
# the torch plugin (session, model registered and loaded, first result, a
# warm call), with a fresh agent per process and attached to an agent
# started ahead (coldstart-attach, packed), against the same model run
# natively in libtorch and the script's yardsticks. bench/coldstart is
# built here against devkit's vAccel and the machine's libtorch.
# BENCH_COLDSTART_N: sandboxes per case (default 5).
coldstart_step() {
	local tmp=$1
	local plugin
	plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' 2>/dev/null | head -1)
	if [ -z "$plugin" ]; then
		torch_plugin_step "$tmp" >/dev/null || { echo "the torch plugin did not build"; return 1; }
		plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' | head -1)
	fi
	[ -f "$tmp/resnet18.pt" ] || python3 "$ROOT/scripts/make_resnet18.py" "$tmp/resnet18.pt" || return 1
	local prefix
	prefix="$DEVKIT/lib/cmake;$DEVKIT;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
	cmake -S "$ROOT/bench/coldstart" -B "$tmp/coldstart" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_PREFIX_PATH="$prefix" >"$tmp/coldstart.cfg.log" 2>&1 ||
		{ tail -20 "$tmp/coldstart.cfg.log"; return 1; }
	cmake --build "$tmp/coldstart" >"$tmp/coldstart.build.log" 2>&1 ||
		{ tail -30 "$tmp/coldstart.build.log"; return 1; }
	local cases=proc attach=() extra=()
	if [ -x "$DEVKIT/bin/coldstart-attach" ]; then
		cases=proc,proc-attach
		attach=(--attach-tool "$DEVKIT/bin/coldstart-attach")
	else
		echo "(devkit has no coldstart-attach: the attached case is not run)"
	fi
	local args=(--mode run --model "$tmp/resnet18.pt" --shape 3x224x224 --device cuda
		-n "${BENCH_COLDSTART_N:-5}" --agent "$DEVKIT/bin/vaccel-agent"
		--client "$tmp/coldstart/coldstart-client" --native "$tmp/coldstart/coldstart-native"
		--baseline "$tmp/coldstart/coldstart-baseline" --torch-plugin "$plugin"
		--rpc-plugin "$DEVKIT/lib/libvaccel-rpc.so" "${attach[@]}")
	# BENCH_COLDSTART_ARGS: more arguments for every run (e.g. --agent-arg=--no-pin-shm).
	read -r -a extra <<<"${BENCH_COLDSTART_ARGS:-}"
	args+=("${extra[@]}")
	timeout "${TEST_TIMEOUT:-600}" python3 "$ROOT/scripts/bench_coldstart.py" \
		--cases "$cases" "${args[@]}" 2>&1 | tee "${OUTDIR:-$tmp}/bench_coldstart.txt"
	local rc=${PIPESTATUS[0]}
	# Sandboxes naming the model by a digest computed ahead.
	# (The kit has no vaccel CLI: the benchmark writes the index itself.)
	if [ "$rc" -eq 0 ] && [ ${#attach[@]} -gt 0 ]; then
		echo "--- the same attached sandboxes, the model named by a precomputed digest"
		timeout "${TEST_TIMEOUT:-600}" python3 "$ROOT/scripts/bench_coldstart.py" \
			--cases proc-attach --digest-index --vaccel-cli /nonexistent "${args[@]}" 2>&1 |
			tee "${OUTDIR:-$tmp}/bench_coldstart_index.txt"
		rc=${PIPESTATUS[0]}
	fi
	# The host model cache's part: the attached case again without it.
	if [ "$rc" -eq 0 ] && [ ${#attach[@]} -gt 0 ]; then
		echo "--- the same attached sandboxes, the agent keeping no models"
		timeout "${TEST_TIMEOUT:-600}" python3 "$ROOT/scripts/bench_coldstart.py" \
			--cases proc-attach --no-model-cache "${args[@]}" 2>&1 |
			tee "${OUTDIR:-$tmp}/bench_coldstart_nocache.txt"
		rc=${PIPESTATUS[0]}
	fi
	return "$rc"
}

# VACCEL_ACCELERATOR_BYTES with a model that takes 256 MiB of GPU memory at
# every run: in this process, a 128 MiB cap makes the run fail as out of
# memory and a 1 GiB cap lets it run; then the same through vaccel-agent
# --isolate-tenants with the cap in the tenant's policy (the agent starts
# the tenant's worker with it).
torch_memory_cap() {
	local tmp=$1
	local plugin
	plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' 2>/dev/null | head -1)
	[ -n "$plugin" ] && [ -x "$tmp/torch_inference" ] ||
		{ echo "the torch step did not build the plugin and example"; return 1; }
	# TorchScript compiles from source: the script must be a file.
	cat >"$tmp/hungry.py" <<'EOF'
import sys
import torch

class Hungry(torch.nn.Module):
    def forward(self, x):
        big = torch.ones(64 * 1024 * 1024, device=x.device)
        return (x.mean() + big.sum() * 0).reshape(1, 1).expand(1, 10).contiguous()

# The same, on the GPU whatever device its input is on.
class HungryCuda(torch.nn.Module):
    def forward(self, x):
        big = torch.ones(64 * 1024 * 1024, device="cuda")
        return (x.mean() + big.sum().cpu() * 0).reshape(1, 1).expand(1, 10).contiguous()

torch.jit.script(Hungry()).save(sys.argv[1])
torch.jit.script(HungryCuda()).save(sys.argv[2])
EOF
	python3 "$tmp/hungry.py" "$tmp/hungry.pt" "$tmp/hungry_cuda.pt" || return 1
	local small=134217728 big=1073741824
	if cap_run "$tmp" "$tmp/cap_small.log" VACCEL_PLUGINS="$plugin" VACCEL_ACCELERATOR_BYTES=$small; then
		echo "in process: the model ran under a 128 MiB cap"
		return 1
	fi
	grep -qi "out of memory" "$tmp/cap_small.log" ||
		{ echo "in process: failed, but not as out of memory:"; tail -5 "$tmp/cap_small.log"; return 1; }
	cap_run "$tmp" "$tmp/cap_big.log" VACCEL_PLUGINS="$plugin" VACCEL_ACCELERATOR_BYTES=$big ||
		{ tail -5 "$tmp/cap_big.log"; return 1; }
	echo "in process: refused (out of memory) under 128 MiB, ran under 1 GiB"
	# A model that makes CUDA tensors itself while the plugin runs on the
	# CPU is held to the cap too.
	if MODEL=$tmp/hungry_cuda.pt cap_run "$tmp" "$tmp/cap_cpu.log" VACCEL_PLUGINS="$plugin" \
		VACCEL_ACCELERATOR_BYTES=$small VACCEL_TORCH_DEVICE=cpu; then
		echo "in process: a model's own CUDA tensors ran under a 128 MiB cap"
		return 1
	fi
	grep -qi "out of memory" "$tmp/cap_cpu.log" ||
		{ echo "in process (cpu device): failed, but not as out of memory:"; tail -5 "$tmp/cap_cpu.log"; return 1; }
	MODEL=$tmp/hungry_cuda.pt cap_run "$tmp" "$tmp/cap_cpu_big.log" VACCEL_PLUGINS="$plugin" \
		VACCEL_ACCELERATOR_BYTES=$big VACCEL_TORCH_DEVICE=cpu ||
		{ tail -5 "$tmp/cap_cpu_big.log"; return 1; }
	echo "in process, device cpu: a model's own CUDA tensors refused under 128 MiB, ran under 1 GiB"

	local cap sock agent rc _
	for cap in $small $big; do
		printf '[default]\nops = ["all"]\n[default.quotas]\naccelerator_bytes = %s\n' \
			"$cap" >"$tmp/cap.toml"
		sock=$tmp/cap-$cap.sock
		VACCEL_PLUGINS=$plugin VACCEL_TORCH_DEVICE=cuda VACCEL_LOG_LEVEL=3 \
			"$DEVKIT/bin/vaccel-agent" -a "unix://$sock" --isolate-tenants \
			--policy "$tmp/cap.toml" >"$tmp/cap-agent-$cap.log" 2>&1 &
		agent=$!
		for _ in $(seq 100); do
			[ -S "$sock" ] && break
			sleep 0.1
		done
		rc=0
		cap_run "$tmp" "$tmp/cap-client-$cap.log" VACCEL_PLUGINS="$DEVKIT/lib/libvaccel-rpc.so" \
			VACCEL_RPC_ADDRESS="unix://$sock" || rc=$?
		kill "$agent" 2>/dev/null || true
		wait "$agent" 2>/dev/null || true
		grep -q "tensors capped at $cap bytes" "$tmp/cap-agent-$cap.log" || {
			echo "agent ($cap): its worker did not apply the cap"
			tail -20 "$tmp/cap-agent-$cap.log"
			return 1
		}
		if [ "$cap" = "$small" ] && [ "$rc" = 0 ]; then
			echo "agent: the model ran under a 128 MiB cap"
			return 1
		fi
		if [ "$cap" = "$big" ] && [ "$rc" != 0 ]; then
			echo "agent: the model failed under a 1 GiB cap"
			tail -5 "$tmp/cap-client-$cap.log"
			tail -20 "$tmp/cap-agent-$cap.log"
			return 1
		fi
	done
	grep -i "out of memory" "$tmp/cap-agent-$small.log" | head -1
	echo "through vaccel-agent --isolate-tenants: refused under 128 MiB, ran under 1 GiB"
}

# cap_run <tmp> <log> VAR=value...: one run of the hungry model ($MODEL,
# default hungry.pt) on the GPU (VAR=value may say otherwise).
cap_run() {
	local tmp=$1 log=$2
	shift 2
	env VACCEL_TORCH_DEVICE=cuda "$@" timeout "${TEST_TIMEOUT:-600}" "$tmp/torch_inference" \
		"$ROOT/examples/data/example.jpg" "${MODEL:-$tmp/hungry.pt}" \
		"$ROOT/examples/data/imagenet.txt" 1 >"$log" 2>&1
}
# ---- end of HOOK --------------------------------------------------------------

run() {
	[ -f "$DEVKIT/MANIFEST" ] || die "no $DEVKIT/MANIFEST: run 'scripts/device-test.sh pack' on the build machine and bring devkit/ here"
	sed -n '2,5p' "$DEVKIT/MANIFEST"
	OUTDIR=${OUT:-}
	local tmp
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT

	step "nvidia-smi" check_gpu
	step "shared libraries resolve" setup_libs
	# Hides the GPUs itself: passes with or without one.
	step "test_cuda (no-device behaviour)" run_gtest test_cuda
	gpu_step "test_cuda_gpu (ops vs CPU references, threads)" run_gtest test_cuda_gpu
	gpu_step "example sgemm + sgemm_generic via the cuda plugin" example_sgemm "$tmp"
	gpu_step "example minmax via the cuda plugin" example_minmax
	gpu_step "sgemm through vaccel-agent (rpc plugin -> cuda plugin)" agent_sgemm "$tmp"
	gpu_step "cuda bench: plugin and agent vs cuBLAS/kernel direct" cuda_bench "$tmp"
	gpu_step "sgemm zero copy: agent with vAccel buffers vs own buffers vs cuBLAS" cuda_sgemm_zero_copy "$tmp"
	gpu_step "torch plugin (hook)" torch_plugin_step "$tmp"
	gpu_step "ResNet-18 bench: native libtorch vs torch plugin vs agent" torch_resnet_bench "$tmp"
	gpu_step "accelerator memory cap (torch plugin, isolated tenant worker)" torch_memory_cap "$tmp"
	gpu_step "cold start: ResNet-18 processes, fresh and attached agents" coldstart_step "$tmp"
	step "host round trips: noop through the agent vs raw ping-pongs" rpc_roundtrip_step

	echo
	echo "=== summary"
	printf '%s\n' "${RESULTS[@]}"
	if [ -n "$OUTDIR" ]; then
		printf '%s\n' "${RESULTS[@]}" >"$OUTDIR/summary.txt"
	fi
	echo "$FAILURES step(s) failed"
	exit $((FAILURES > 100 ? 100 : FAILURES))
}

# The agent's overhead on the GPU, studied: bench_torch (direct, plugin,
# agent; sequential and interleaved) for ResNet-18 and for a model that only
# averages its input (the transport's own cost, with a 602 KB input and with
# a 768 B one), each in a fresh process and agent. BENCH_REPEAT runs of each
# (default 2): a process's threads land on different cores from run to run,
# which moves a launch-bound model's time by more than the overhead sought.
# BENCH_AGENT_ARGS: extra vaccel-agent options for every run; BENCH_CASES:
# which of resnet18, mean602k, mean768 to run (default all); BENCH_TRACE=1:
# the agent (VACCEL_AGENT_TRACE) and the rpc plugin (VACCEL_RPC_TRACE) trace
# every request, and each run prints the medians of where the time went on
# either side (scripts/trace_summary.py).
overhead() {
	[ -f "$DEVKIT/MANIFEST" ] || die "no $DEVKIT/MANIFEST"
	OUTDIR=${OUT:-}
	# Global: the EXIT trap runs after this function has returned.
	OVERHEAD_TMP=$(mktemp -d)
	trap 'rm -rf "$OVERHEAD_TMP"' EXIT
	local tmp=$OVERHEAD_TMP
	setup_libs >/dev/null || die "shared libraries do not resolve"
	torch_plugin_step "$tmp" >/dev/null || die "the torch plugin did not build"
	local plugin prefix
	plugin=$(find "$tmp/torch" -name 'libvaccel-torch.so' | head -1)
	prefix="$DEVKIT/lib/cmake;$DEVKIT;$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')"
	cmake -S "$ROOT/bench/standalone" -B "$tmp/bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_PREFIX_PATH="$prefix" -DBENCHMARK_ROOT="$DEVKIT/deps/benchmark" >/dev/null &&
		cmake --build "$tmp/bench" >/dev/null || die "bench_torch did not build"
	python3 "$ROOT/scripts/make_resnet18.py" "$tmp/resnet18.pt" >/dev/null || die "no ResNet-18"
	cat >"$tmp/mean.py" <<EOF
import torch
class Mean(torch.nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))
torch.jit.script(Mean()).save("$tmp/mean.pt")
EOF
	python3 "$tmp/mean.py" || die "no mean model"
	local case name model input i variant tag variants
	echo "CPUs: $(nproc) online; $(lscpu | grep -E '^(Model name|Thread\(s\) per core|Core\(s\) per socket|Socket\(s\)|NUMA node\(s\))' | tr -s ' ' | paste -sd';')"
	[ -r /sys/devices/system/cpu/cpu0/topology/thread_siblings_list ] &&
		echo "cpu0 siblings: $(cat /sys/devices/system/cpu/cpu0/topology/thread_siblings_list)"
	for case in "resnet18 resnet18.pt 1x3x224x224" "mean602k mean.pt 1x3x224x224" \
		"mean768 mean.pt 1x3x8x8"; do
		read -r name model input <<<"$case"
		case " ${BENCH_CASES:-resnet18 mean602k mean768} " in *" $name "*) ;; *) continue ;; esac
		for i in $(seq "${BENCH_REPEAT:-2}"); do
			# Each variant once per repeat, so that drift between
			# runs hits them alike.
			IFS=';' read -ra variants <<<"${BENCH_VARIANTS:-}"
			[ ${#variants[@]} -gt 0 ] || variants=("")
			for variant in "${variants[@]}"; do
				tag=${variant//[^A-Za-z0-9_-]/_}
				echo "##### $name, run $i${variant:+, $variant}"
				local trace=${OUTDIR:-$tmp}/trace_${name}_$i${tag:+_$tag}.tsv
				local ctrace=${OUTDIR:-$tmp}/client_${name}_$i${tag:+_$tag}.tsv
				local trace_env=VACCEL_AGENT_TRACE= ctrace_env=VACCEL_RPC_TRACE=
				if [ "${BENCH_TRACE:-0}" = 1 ]; then
					trace_env=VACCEL_AGENT_TRACE=$trace
					ctrace_env=VACCEL_RPC_TRACE=$ctrace
				fi
				# shellcheck disable=SC2086 # the variant is words
				env LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$DEVKIT/deps/benchmark/lib \
					VACCEL_BENCH_TORCH_PLUGIN=$plugin VACCEL_BENCH_TORCH_MODEL=$tmp/$model \
					VACCEL_BENCH_TORCH_INPUT=$input VACCEL_BENCH_TORCH_BATCHES=1 \
					VACCEL_BENCH_TORCH_REPS=${BENCH_REPS:-3} VACCEL_TORCH_DEVICE=cuda \
					VACCEL_BENCH_AGENT=$DEVKIT/bin/vaccel-agent \
					VACCEL_BENCH_AGENT_ARGS="${BENCH_AGENT_ARGS:-}" "$trace_env" "$ctrace_env" \
					VACCEL_BENCH_RPC_PLUGIN=$DEVKIT/lib/libvaccel-rpc.so \
					$variant timeout "${BENCH_TIMEOUT:-200}" "$tmp/bench/bench_torch" \
					--benchmark_min_time="${BENCH_MIN_TIME:-1}" --benchmark_filter=BM_run 2>&1 |
					tee "${OUTDIR:-$tmp}/overhead_${name}_$i${tag:+_$tag}.txt" | sed -n '/overhead over/,$p'
				if [ -s "$trace" ]; then
					echo "agent trace (after ${BENCH_WARMUP_SKIP:-100} warm-up calls):"
					python3 "$ROOT/scripts/trace_summary.py" --skip "${BENCH_WARMUP_SKIP:-100}" "$trace" || true
				fi
				if [ -s "$ctrace" ]; then
					echo "client trace (rpc plugin, after the warm-up calls):"
					python3 "$ROOT/scripts/trace_summary.py" --skip "${BENCH_WARMUP_SKIP:-100}" \
						--method torch_model_run "$ctrace" || true
					echo "both sides, call by call:"
					python3 "$ROOT/scripts/trace_summary.py" --skip "${BENCH_WARMUP_SKIP:-100}" \
						"$trace" --pair "$ctrace" || true
				fi
			done
		done
	done
}

case "${1:-}" in
pack) pack ;;
run) run ;;
overhead) overhead ;;
-h | --help | help) usage 0 ;;
*) usage 2 ;;
esac
