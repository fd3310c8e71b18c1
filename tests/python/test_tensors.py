# SPDX-License-Identifier: Apache-2.0
"""Torch / TF / TFLite tensors: numpy arrays viewed without copies, dtype
mapping, output tensors owned by Python and viewed by numpy."""

import gc

import numpy as np
import pytest

import vaccel

rng = np.random.default_rng(7)

CASES = [
    (vaccel.TorchTensor, vaccel.TorchDataType,
     {np.uint8: "BYTE", np.int8: "CHAR", np.int16: "SHORT", np.int32: "INT",
      np.int64: "LONG", np.float16: "HALF", np.float32: "FLOAT"}),
    (vaccel.TFTensor, vaccel.TFDataType,
     {np.float32: "FLOAT", np.float64: "DOUBLE", np.int32: "INT32",
      np.uint8: "UINT8", np.bool_: "BOOL", np.complex64: "COMPLEX64",
      np.uint64: "UINT64", np.float16: "HALF"}),
    (vaccel.TFLiteTensor, vaccel.TFLiteDataType,
     {np.float32: "FLOAT32", np.int32: "INT32", np.uint8: "UINT8",
      np.int64: "INT64", np.int8: "INT8", np.float64: "FLOAT64",
      np.uint16: "UINT16"}),
]


@pytest.mark.parametrize("cls,enum,types", CASES)
def test_tensor_views_numpy(cls, enum, types):
    for dtype, name in types.items():
        a = (rng.standard_normal((3, 1, 5)) * 10).astype(dtype)
        t = cls(a)
        assert t.data_type == getattr(enum, name)
        assert t.dims == a.shape and t.size == a.nbytes
        assert t.data_ptr == a.ctypes.data and not t.owned
        v = t.numpy()
        assert v.dtype == a.dtype
        np.testing.assert_array_equal(v, a)
        assert v.ctypes.data == a.ctypes.data


@pytest.mark.parametrize("cls,enum,types", CASES)
def test_tensor_copies_only_non_contiguous(cls, enum, types):
    a = np.arange(24, dtype=np.float32).reshape(4, 6)[:, ::2]
    t = cls(a)
    assert t.data_ptr != a.ctypes.data
    np.testing.assert_array_equal(t.numpy(), a)
    t0 = cls(np.float32(2.5))  # 0-d: one element
    assert t0.dims == (1,)


def test_tensor_keeps_array_alive():
    t = vaccel.TorchTensor(np.arange(1000, dtype=np.int64))
    gc.collect()
    assert t.numpy().sum() == 999 * 1000 // 2


def test_empty_tensor_is_owned():
    t = vaccel.TorchTensor.empty([2, 3], vaccel.TorchDataType.FLOAT)
    assert t.owned and t.size == 24 and t.dims == (2, 3)
    v = t.numpy()
    v[:] = 7
    assert np.asarray(t).sum() == 42
    w = np.asarray(t, dtype=np.float64)
    assert w.dtype == np.float64


def test_unsupported_dtypes_are_refused():
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.TorchTensor(np.zeros(3, dtype=np.float64))
    assert e.value.code == vaccel.EINVAL
    with pytest.raises(vaccel.VaccelError):
        vaccel.TFLiteTensor(np.array(["a", "b"]))


def test_model_run_zero_copy_inputs_owned_outputs(session):
    model = vaccel.Resource.from_buffer(b"m", vaccel.ResourceType.MODEL)
    session.register(model)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    (out,) = session.torch_model_run(model, [vaccel.TorchTensor(x)])
    assert out.owned and out.data_ptr != x.ctypes.data
    view = out.numpy()
    del out
    gc.collect()
    np.testing.assert_array_equal(view, x)  # the view keeps it alive
    session.unregister(model)
    model.release()
