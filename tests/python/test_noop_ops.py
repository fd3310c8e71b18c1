# SPDX-License-Identifier: Apache-2.0
"""Every op of the C API through the noop plugin, which returns fixed dummy
outputs (plugins/noop/noop.c): each result is compared with what noop
writes, computed here independently."""

import struct

import numpy as np
import pytest

import vaccel

TAG = "This is a dummy classification tag!"
IMGNAME = "This is a dummy imgname!"
TF_MESSAGE = "Operation handled by noop plugin"

rng = np.random.default_rng(1234)


def test_every_op_routes_to_noop(session):
    for op in vaccel.OpType.__members__.values():
        assert session.op_plugin(op) == "noop"


def test_noop(session):
    assert session.noop() is None


def test_classify(session, paths):
    with open(f"{paths['data']}/example.jpg", "rb") as f:
        image = f.read()
    assert session.classify(image) == (TAG, IMGNAME)
    assert session.image_classification(bytearray(image)) == (TAG, IMGNAME)
    # numpy bytes work as well, and short outputs are truncated like
    # snprintf (size - 1 characters and the terminator).
    img = np.frombuffer(image, dtype=np.uint8)
    assert session.classify(img, text_size=10, imgname_size=5) == \
        (TAG[:9], IMGNAME[:4])


@pytest.mark.parametrize("op", ["detect", "segment", "pose", "depth",
                                "image_detection", "image_segmentation",
                                "image_pose", "image_depth"])
def test_image_ops(session, op):
    assert getattr(session, op)(b"\x89PNG....") == IMGNAME
    assert getattr(session, op)(b"x", out_size=7) == IMGNAME[:6]


def test_sgemm_leaves_c_alone(session):
    # noop computes nothing: C must come back untouched, in place.
    m, n, k = 3, 5, 7
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = rng.standard_normal((m, n), dtype=np.float32)
    before = c.copy()
    out = session.sgemm(a, b, c, alpha=2.0, beta=0.5)
    assert out is c
    np.testing.assert_array_equal(c, before)
    fresh = session.sgemm(a, b)
    assert fresh.shape == (m, n) and fresh.dtype == np.float32
    assert not fresh.any()
    # Strided rows and other dtypes are accepted as inputs...
    wide = rng.standard_normal((m, k + 3), dtype=np.float32)
    assert session.sgemm(wide[:, :k], b.astype(np.float64), c) is c
    # ...but a mismatched shape or an output of the wrong dtype is not.
    with pytest.raises(vaccel.VaccelError) as e:
        session.sgemm(a, b[:-1], c)
    assert e.value.code == vaccel.EINVAL
    with pytest.raises(vaccel.VaccelError) as e:
        session.sgemm(a, b, c.astype(np.float64))
    assert e.value.code == vaccel.EINVAL


def test_minmax(session):
    data = rng.standard_normal(11)
    out, mn, mx = session.minmax(data, 1, 5)
    np.testing.assert_array_equal(out, data)
    assert (mn, mx) == (-1.0, 10000.0)
    given = np.zeros(11)
    out2, _, _ = session.minmax(data, 1, 5, outdata=given)
    assert out2 is given
    np.testing.assert_array_equal(given, data)


def test_fpga_ops(session):
    a = rng.integers(-1000, 1000, 9, dtype=np.int32)
    out = session.fpga_arraycopy(a)
    np.testing.assert_array_equal(out, a)
    given = np.zeros(9, dtype=np.int32)
    assert session.fpga_arraycopy(a, given) is given
    np.testing.assert_array_equal(given, a)

    x = rng.standard_normal(13).astype(np.float32)
    y = rng.standard_normal(13).astype(np.float32)
    np.testing.assert_array_equal(session.fpga_mmult(x, y),
                                  np.full(13, 9.1, dtype=np.float32))
    add, mul = session.fpga_parallel(x, y)
    np.testing.assert_array_equal(add, x + y)
    np.testing.assert_array_equal(mul, np.ones(13, dtype=np.float32))
    np.testing.assert_array_equal(session.fpga_vadd(x, y), x + y)
    # Lists are converted (a copy) for inputs.
    np.testing.assert_array_equal(session.fpga_vadd([1, 2], [3, 4]),
                                  np.array([4, 6], dtype=np.float32))


def test_exec_returns_input_copy(session, paths):
    # noop's exec copies read[0] into write[0] when both are int arrays
    # of one size.
    inp = rng.integers(0, 100, 6, dtype=np.int32)
    out = np.zeros(6, dtype=np.int32)
    args = session.exec(paths["mytestlib"], "mytestfunc", [inp], [out])
    np.testing.assert_array_equal(out, inp)
    assert [a.obj is out for a in args] == [True]


def test_exec_with_resource(session, paths):
    with vaccel.Resource(paths["mytestlib"], vaccel.ResourceType.LIB) as r:
        session.register(r)
        inp = rng.integers(0, 100, 4, dtype=np.int32)
        out = np.zeros(4, dtype=np.int32)
        session.exec_with_resource(r, "mytestfunc", [inp], [out])
        np.testing.assert_array_equal(out, inp)
        session.unregister(r)


def test_genop(session):
    assert session.genop([vaccel.OpType.NOOP]) == []

    # classify: read = [op, image BUFFER]; write = [imgname, text]
    imgname = np.zeros(64, dtype=np.uint8)
    text = np.zeros(64, dtype=np.uint8)
    session.genop([vaccel.OpType.IMAGE_CLASSIFY,
                   vaccel.Arg(b"image", vaccel.ArgType.BUFFER)],
                  [vaccel.Arg(imgname, vaccel.ArgType.UCHAR_ARRAY),
                   vaccel.Arg(text, vaccel.ArgType.UCHAR_ARRAY)])
    assert bytes(text).rstrip(b"\0").decode() == TAG
    assert bytes(imgname).rstrip(b"\0").decode() == IMGNAME

    # minmax: read = [op, indata, ndata, low, high]; write = [out, min, max]
    data = rng.standard_normal(5)
    out = np.zeros(5)
    mn = np.zeros((), dtype=np.float64)
    mx = np.zeros((), dtype=np.float64)
    i32 = vaccel.ArgType.INT32
    session.genop([vaccel.OpType.MINMAX, data, vaccel.Arg(5, i32),
                   vaccel.Arg(0, i32), vaccel.Arg(3, i32)],
                  [out, mn, mx])
    np.testing.assert_array_equal(out, data)
    assert (float(mn), float(mx)) == (-1.0, 10000.0)

    # A malformed call fails in the runtime's checks with its message.
    with pytest.raises(vaccel.VaccelError) as e:
        session.genop([vaccel.OpType.MINMAX, data], [out])
    assert e.value.code == vaccel.EINVAL
    assert "minmax" in e.value.message


def test_genop_with_arg_arrays(session):
    read = vaccel.ArgArray()
    read.add_uint8(int(vaccel.OpType.FPGA_VECTORADD))
    a = rng.standard_normal(6).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    read.add_float_array(a)
    read.add_float_array(b)
    c = np.zeros(6, dtype=np.float32)
    write = vaccel.ArgArray([c])
    assert session.genop(read, write) is write
    np.testing.assert_array_equal(c, a + b)
    np.testing.assert_array_equal(write.get_float_array(), a + b)


def test_opencv(session):
    # noop writes the float count of each output as a size_t header.
    outs = [np.zeros(32, dtype=np.uint8), np.zeros(16, dtype=np.uint8)]
    session.opencv([np.array(3, dtype=np.uint8)], outs)
    assert struct.unpack("N", outs[0][:8].tobytes())[0] == 32 // 4
    assert struct.unpack("N", outs[1][:8].tobytes())[0] == 16 // 4
    out = np.zeros(40, dtype=np.uint8)
    session.opencv_unpack([np.array(1, dtype=np.uint8)], [out])
    assert struct.unpack("N", out[:8].tobytes())[0] == 40 // 4


def test_model_ops(session):
    model = vaccel.Resource.from_buffer(b"not a real model",
                                        vaccel.ResourceType.MODEL,
                                        filename="model.pt")
    session.register(model)

    st = session.tf_model_load(model)
    assert (st.code, st.message) == (0, TF_MESSAGE)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.integers(0, 9, (4,), dtype=np.int64)
    outs, st = session.tf_model_run(model, ["in:0", ("in", 1)], [x, y],
                                    [vaccel.TFNode("out")])
    assert st.message == TF_MESSAGE
    assert len(outs) == 1
    np.testing.assert_array_equal(outs[0].numpy(), x)
    assert outs[0].data_type == vaccel.TFDataType.FLOAT
    assert session.tf_model_unload(model).code == 0

    session.tflite_model_load(model)
    outs, status = session.tflite_model_run(model, [y, x], nr_outputs=2)
    assert status == 0
    np.testing.assert_array_equal(np.asarray(outs[0]), y)
    np.testing.assert_array_equal(np.asarray(outs[1]), x)
    assert outs[0].data_type == vaccel.TFLiteDataType.INT64
    session.tflite_model_unload(model)

    session.torch_model_load(model)
    outs = session.torch_model_run(model, [x], run_options=b"opts")
    np.testing.assert_array_equal(outs[0].numpy(), x)
    assert outs[0].dims == (2, 3)
    assert session.torch_sgemm(x, x, x, 2, 3, 2) is None

    # More outputs than inputs is refused by noop.
    with pytest.raises(vaccel.VaccelError) as e:
        session.torch_model_run(model, [x], nr_outputs=2)
    assert e.value.code == vaccel.EINVAL
    session.unregister(model)
    model.release()
