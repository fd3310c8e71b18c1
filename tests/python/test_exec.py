# SPDX-License-Identifier: Apache-2.0
"""exec through the exec plugin: the examples' mytestlib doubling int32s,
zero-copy proofs (the fixture library records the addresses it was given)
and error codes."""

import numpy as np
import pytest

import vaccel

rng = np.random.default_rng(99)
I32 = vaccel.ArgType.INT32


def test_mytestlib_doubles(exec_session, paths):
    value = int(rng.integers(-10**6, 10**6))
    out = np.zeros((), dtype=np.int32)
    exec_session.exec(paths["mytestlib"], "mytestfunc",
                      [np.array(value, dtype=np.int32)], [out])
    assert int(out) == 2 * value


def test_mytestlib_doubles_in_place(exec_session, paths):
    # One 0-d int32 array as both input and output: doubled in place.
    a = np.array(21, dtype=np.int32)
    exec_session.exec(paths["mytestlib"], "mytestfunc", [a], [a])
    assert int(a) == 42
    # A 1-element slice of a bigger array, tagged INT32 explicitly: only
    # that element changes.
    big = rng.integers(-1000, 1000, 8, dtype=np.int32)
    want = big.copy()
    want[3] *= 2
    view = big[3:4]
    exec_session.exec(paths["mytestlib"], "mytestfunc",
                      [vaccel.Arg(view, I32)], [vaccel.Arg(view, I32)])
    np.testing.assert_array_equal(big, want)


def test_mytestlib_with_python_int_and_output_arg(exec_session, paths):
    out = vaccel.Arg.empty(4, I32)
    (res,) = exec_session.exec(paths["mytestlib"], "mytestfunc",
                               [vaccel.Arg(-7, I32)], [out])
    assert res is out
    assert out.value == -14


def test_exec_with_resource_mytestlib(exec_session, paths):
    with vaccel.Resource(paths["mytestlib"], vaccel.ResourceType.LIB) as r:
        exec_session.register(r)
        out = np.zeros((), dtype=np.int32)
        exec_session.exec_with_resource(r, "mytestfunc",
                                        [np.array(5, np.int32)], [out])
        assert int(out) == 10
        exec_session.unregister(r)


@pytest.mark.parametrize("n", [1, 7, 1000, 65537])
def test_zero_copy_input_and_output(exec_session, paths, record, n):
    inp = rng.integers(-2**20, 2**20, n, dtype=np.int32)
    out = np.full(n, -1, dtype=np.int32)
    exec_session.exec(paths["pyrecord"], "pyrecord_double", [inp], [out])
    # The function saw the arrays' own memory...
    assert record.pyrecord_last_read() == inp.ctypes.data
    assert record.pyrecord_last_write() == out.ctypes.data
    assert record.pyrecord_last_read_size() == inp.nbytes
    # ...and what it wrote is what the caller's array holds.
    np.testing.assert_array_equal(out, 2 * inp)


def test_zero_copy_in_place(exec_session, paths, record):
    a = rng.integers(-1000, 1000, 33, dtype=np.int32)
    want = 2 * a
    exec_session.exec(paths["pyrecord"], "pyrecord_double_in_place", [],
                      [a])
    assert record.pyrecord_last_write() == a.ctypes.data
    np.testing.assert_array_equal(a, want)


def test_zero_copy_other_buffers(exec_session, paths, record):
    # bytearray and memoryview are viewed too (tagged RAW).
    buf = bytearray(np.arange(4, dtype=np.int32).tobytes())
    view = memoryview(buf)
    exec_session.exec(paths["pyrecord"], "pyrecord_double_in_place", [],
                      [view])
    assert np.frombuffer(buf, dtype=np.int32).tolist() == [0, 2, 4, 6]
    # Read-only inputs (bytes) are fine and not copied.
    data = np.arange(3, dtype=np.int32).tobytes()
    out = bytearray(12)
    exec_session.exec(paths["pyrecord"], "pyrecord_double", [data], [out])
    assert np.frombuffer(out, dtype=np.int32).tolist() == [0, 2, 4]
    arg = vaccel.Arg(data)
    assert arg.readonly and arg.type == vaccel.ArgType.RAW
    exec_session.exec(paths["pyrecord"], "pyrecord_double", [arg], [out])
    assert record.pyrecord_last_read() == arg.data_ptr


def test_missing_library_is_einval(exec_session):
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec("/nonexistent/libnothing.so", "f")
    assert e.value.code == vaccel.EINVAL
    assert e.value.message == vaccel.last_error()
    assert e.value.message


def test_missing_symbol_is_enosys(exec_session, paths):
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["mytestlib"], "no_such_function")
    assert e.value.code == vaccel.ENOSYS
    assert e.value.name == "ENOSYS"


def test_failing_function_is_ebackend(exec_session, paths):
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["pyrecord"], "pyrecord_fail",
                          [np.array(3, dtype=np.int32)])
    assert e.value.code == vaccel.EBACKEND
    # The same function returning 0 succeeds.
    exec_session.exec(paths["pyrecord"], "pyrecord_fail",
                      [np.array(0, dtype=np.int32)])


def test_mytestlib_refuses_wrong_args(exec_session, paths):
    # mytestlib wants exactly one INT32 in and one INT32 out.
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["mytestlib"], "mytestfunc",
                          [np.arange(2, dtype=np.int32)],
                          [np.zeros((), np.int32)])
    assert e.value.code == vaccel.EBACKEND


def test_bad_outputs_are_refused_before_the_call(exec_session, paths,
                                                 record):
    ro = np.zeros(4, dtype=np.int32)
    ro.flags.writeable = False
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["pyrecord"], "pyrecord_double",
                          [np.ones(4, np.int32)], [ro])
    assert e.value.code == vaccel.EINVAL and "read-only" in e.value.message
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["pyrecord"], "pyrecord_double",
                          [np.ones(4, np.int32)], [b"immutable!!!"])
    assert e.value.code == vaccel.EINVAL
    # Non-contiguous arrays are refused rather than silently copied.
    strided = np.zeros(8, dtype=np.int32)[::2]
    with pytest.raises(vaccel.VaccelError) as e:
        exec_session.exec(paths["pyrecord"], "pyrecord_double",
                          [np.ones(4, np.int32)], [strided])
    assert e.value.code == vaccel.EINVAL
    assert "contiguous" in e.value.message
    with pytest.raises(TypeError):
        exec_session.exec(paths["pyrecord"], "pyrecord_double", [object()])
    with pytest.raises(TypeError):
        exec_session.exec(paths["pyrecord"], "pyrecord_double",
                          np.ones(4, np.int32))
