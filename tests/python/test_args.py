# SPDX-License-Identifier: Apache-2.0
"""vaccel.Arg and vaccel.ArgArray (struct vaccel_arg / vaccel_arg_array):
tags, ownership, views and the C get/add functions' checks."""

import numpy as np
import pytest

import vaccel

T = vaccel.ArgType


@pytest.mark.parametrize("dtype,scalar,array", [
    (np.int8, T.INT8, T.INT8_ARRAY), (np.uint8, T.UINT8, T.UINT8_ARRAY),
    (np.int16, T.INT16, T.INT16_ARRAY),
    (np.uint16, T.UINT16, T.UINT16_ARRAY),
    (np.int32, T.INT32, T.INT32_ARRAY),
    (np.uint32, T.UINT32, T.UINT32_ARRAY),
    (np.int64, T.INT64, T.INT64_ARRAY),
    (np.uint64, T.UINT64, T.UINT64_ARRAY),
    (np.float32, T.FLOAT32, T.FLOAT32_ARRAY),
    (np.float64, T.FLOAT64, T.FLOAT64_ARRAY),
    (np.bool_, T.BOOL, T.BOOL_ARRAY)])
def test_numpy_tags(dtype, scalar, array):
    a = np.arange(5).astype(dtype)
    arg = vaccel.Arg(a)
    assert arg.type == array and arg.size == a.nbytes
    assert arg.data_ptr == a.ctypes.data
    np.testing.assert_array_equal(arg.value, a)
    z = np.array(1, dtype=dtype)
    assert vaccel.Arg(z).type == scalar
    assert vaccel.Arg(z).value == z
    assert vaccel.Arg(dtype(1)).type == scalar  # numpy scalar


def test_python_values_are_copied():
    assert vaccel.Arg("héllo").type == T.STRING
    assert vaccel.Arg("héllo").size == len("héllo".encode()) + 1
    assert vaccel.Arg("héllo").value == "héllo"
    assert (vaccel.Arg(7).type, vaccel.Arg(7).size) == (T.INT64, 8)
    assert vaccel.Arg(7, T.INT16).value == 7
    assert vaccel.Arg(2.5).value == 2.5
    assert vaccel.Arg(2.5, T.FLOAT32).size == 4
    assert vaccel.Arg(True).type == T.BOOL
    op = vaccel.Arg(vaccel.OpType.OPENCV)
    assert (op.type, op.value) == (T.UINT8, 23)
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.Arg(300, T.UINT8)
    assert e.value.code == vaccel.EINVAL
    with pytest.raises(vaccel.VaccelError):
        vaccel.Arg(1, T.INT32_ARRAY)


def test_arg_views_its_buffer():
    b = bytearray(b"abcd")
    arg = vaccel.Arg(b)
    assert arg.type == T.RAW and not arg.readonly
    memoryview(arg)[0] = ord("z")
    assert b == bytearray(b"zbcd")
    assert arg.tobytes() == b"zbcd" and len(arg) == 4
    assert vaccel.Arg(b"xyz").readonly
    empty = vaccel.Arg.empty(16)
    assert empty.tobytes() == bytes(16)
    assert vaccel.Arg(b, T.CUSTOM, custom_id=9).custom_id == 9


def test_arg_array_add_and_get():
    arr = vaccel.ArgArray()
    vals = np.arange(6, dtype=np.float64)
    arr.add_int32(-5)
    arr.add_uint64(2**63)
    arr.add_double_array(vals)
    arr.add_string("name")
    arr.add_buffer(bytearray(b"\x01\x02"))
    arr.add(np.int16(3))
    assert len(arr) == 6
    assert arr[0].type == T.INT32 and arr[-1].type == T.INT16
    assert arr[2].data_ptr == vals.ctypes.data  # viewed, not copied

    assert arr.get_int32() == -5
    assert arr.position == 1
    assert arr.get_uint64() == 2**63
    got = arr.get_double_array()
    np.testing.assert_array_equal(got, vals)
    assert got.ctypes.data == vals.ctypes.data
    assert arr.get_string() == "name"
    assert arr.get_buffer().tolist() == [1, 2]
    assert arr.get_int16() == 3
    assert arr.remaining_count() == 0
    with pytest.raises(vaccel.VaccelError) as e:
        arr.get_int32()
    assert e.value.code == vaccel.ERANGE
    arr.reset_position()
    # A wrong tag is refused by the C function and the cursor stays.
    with pytest.raises(vaccel.VaccelError) as e:
        arr.get_float()
    assert e.value.code == vaccel.EINVAL
    assert arr.position == 0
    arr.position = 4
    assert arr.get_buffer().tolist() == [1, 2]


def test_arg_array_refuses_mismatched_arrays():
    arr = vaccel.ArgArray()
    with pytest.raises(vaccel.VaccelError):
        arr.add_int32_array(np.arange(3, dtype=np.int64))
    with pytest.raises(vaccel.VaccelError):
        arr.add_int32_array(np.zeros(0, dtype=np.int32))
    assert len(arr) == 0


def test_arg_array_keeps_values_alive():
    arr = vaccel.ArgArray()
    for i in range(100):  # growth must not move what the args point at
        arr.add_int64(i)
        arr.add_uint8_array(np.full(3, i, dtype=np.uint8))
    for i in range(100):
        assert arr.get_int64() == i
        assert arr.get_uint8_array().tolist() == [i] * 3
