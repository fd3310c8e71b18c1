#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent; run as root (or through sudo) on Debian 12.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ccache
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libtomlplusplus-dev
  # the agent as a trust boundary (issue 15): SHA-256 and TLS, uid tests
  libssl-dev openssl util-linux libseccomp-dev
  # the agent's metrics and health endpoint (issue 18)
  libmicrohttpd-dev
  clang-format
  protobuf-compiler libprotobuf-dev
  clang libclang-rt-14-dev
  # backends (issue 4): libtorch, OpenCV DNN, OpenBLAS, OpenCL on CPU (pocl)
  libtorch-dev python3-torch libopencv-dev libopenblas-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  dataset-fashion-mnist python3-numpy python3-pil zlib1g-dev
  # the main job's text detection step renders its text with DejaVu Sans
  fonts-dejavu-core
  # bindings and tools (issue 6)
  pybind11-dev python3-dev python3-pytest libcli11-dev nlohmann-json3-dev
  python3-pip python3-setuptools python3-wheel
  # the public headers as cffi bindings parse them (tests/abi)
  python3-cffi python3-pycparser
  # deployment checks (issue 6): manifests, systemd unit, .deb packages
  python3-yaml systemd file
  # guests (issue 5)
  qemu-system-x86 busybox-static
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
