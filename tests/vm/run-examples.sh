#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs the example programs one after the other, the same way inside a
# guest and natively on the host, so that the two outputs can be compared
# line by line (tests/vm/vm_test.py). POSIX sh + busybox tools.
#
#   run-examples.sh BIN_DIR DATA_DIR LIB [CASE...]
#
# BIN_DIR holds the programs, DATA_DIR examples/data, LIB the path of
# libmytestlib.so *on the host* (the agent opens it there; the guest only
# passes the name), except for exec_with_resource, which sends the file's
# bytes: DATA_DIR/libmytestlib.so. Each case prints
#   @@BEGIN <case>
#   <the program's stdout>
#   @@END <case> rc=<exit status>
# and its stderr as lines starting with "!" (not compared: they carry
# timestamps).
#
# The backend cases (tests/vm/vm_test.py, scenario "backends") also need,
# under DATA_DIR: fashion/*.png (examples/data), and three model
# directories, each sent as one multi-file resource so that the model
# carries its own labels and preprocessing (no agent-wide settings):
#   torch-fashion/   fashion_mnist.pt, fashion_mnist_labels.txt, fashion.cfg
#   torch-imagenet/  cnn_trace.pt, imagenet.txt
#   opencv-fashion/  fashion_mnist.onnx, fashion_mnist_labels.txt, fashion.cfg
set -u
bin=$1
data=$2
lib=$3
shift 3
out=${TMPDIR:-/tmp}

run() { # case program args...
  name=$1
  shift
  prog=$1
  shift
  echo "@@BEGIN $name"
  "$bin/$prog" "$@" 2>"$out/$name.err"
  rc=$?
  echo "@@END $name rc=$rc"
  sed 's/^/! /' "$out/$name.err"
  rm -f "$out/$name.err"
}

# Like run, for ops whose result image lies in a run directory: its path
# is random (and, on an agent, numbered per process), so only the file's
# kind is kept: "imagename: <rundir>/classify.png".
run_rundir() { # case program args...
  rdname=$1
  run "$@" >"$out/$rdname.out"
  sed 's#^\(.* imagename: \)/.*/\([a-z]*\)-[0-9]*\.png$#\1<rundir>/\2.png#' "$out/$rdname.out"
  rm -f "$out/$rdname.out"
}

# Every Fashion-MNIST sample of DATA_DIR/fashion through one model
# directory, a case each: "<case>:<sample>", e.g. fashion_torch:0000_ankle-boot.
run_fashion() { # case runner model-dir
  for img in "$data"/fashion/*.png; do
    [ -f "$img" ] || { echo "@@MISSING $1 $data/fashion"; return; }
    sample=$(basename "$img" .png)
    "$2" "$1:$sample" classify "$img" 1 "$data/$3"
  done
}

# sgemm's result: the bytes of C, as a hash.
run_sgemm() { # case program
  rm -f "$out/$1.bin"
  echo "@@BEGIN $1"
  "$bin/$2" 1 "$out/$1.bin" 2>"$out/$1.err"
  rc=$?
  [ -f "$out/$1.bin" ] && echo "C sha256: $(sha256sum < "$out/$1.bin" | cut -d' ' -f1)"
  echo "@@END $1 rc=$rc"
  sed 's/^/! /' "$out/$1.err"
  rm -f "$out/$1.err" "$out/$1.bin"
}

one() {
  case "$1" in
    noop) run noop noop 3 ;;
    noop_cxx) run noop_cxx noop_cxx ;;
    classify) run classify classify "$data/example.jpg" 2 ;;
    classify_model) run classify_model classify "$data/example.jpg" 1 "$data/cnn_trace.pt" ;;
    classify_generic) run classify_generic classify_generic "$data/example.jpg" 1 ;;
    classify_cxx) run classify_cxx classify_cxx "$data/example.jpg" "$data/cnn_trace.pt" ;;
    detect) run detect detect "$data/example.jpg" 1 ;;
    segment_generic) run segment_generic segment_generic "$data/example.jpg" 1 ;;
    exec) run exec exec "$lib" 2 ;;
    exec_generic) run exec_generic exec_generic "$lib" 1 ;;
    exec_with_resource) run exec_with_resource exec_with_resource "$data/libmytestlib.so" 2 ;;
    sgemm) run_sgemm sgemm sgemm ;;
    sgemm_generic) run_sgemm sgemm_generic sgemm_generic ;;
    minmax) run minmax minmax 2048 "$data/input_2048.csv" 5 100 ;;
    torch_inference) run torch_inference torch_inference "$data/example.jpg" "$data/cnn_trace.pt" "$data/imagenet.txt" ;;
    tflite_inference) run tflite_inference tflite_inference "$data/example.jpg" "$data/lstm2.tflite" "$data/imagenet.txt" ;;
    mbench) run mbench mbench 1 "$data/example.jpg" ;;
    # Real backends (scenario "backends"): torch, opencv and blas.
    fashion_torch) run_fashion fashion_torch run torch-fashion ;;
    fashion_opencv) run_fashion fashion_opencv run_rundir opencv-fashion ;;
    classify_imagenet) run classify_imagenet classify "$data/example.jpg" 1 "$data/torch-imagenet" ;;
    classify_cxx_imagenet) run classify_cxx_imagenet classify_cxx "$data/example.jpg" "$data/torch-imagenet" ;;
    minmax_wide) run minmax_wide minmax 2048 "$data/input_2048.csv" 0 10000 1 ;;
    *) echo "@@UNKNOWN $1" ;;
  esac
}

if [ $# -eq 0 ]; then
  set -- noop noop_cxx classify classify_model classify_generic classify_cxx \
    detect segment_generic exec exec_generic exec_with_resource sgemm \
    sgemm_generic minmax torch_inference tflite_inference
fi
for c in "$@"; do
  one "$c"
done
