# SPDX-License-Identifier: Apache-2.0
"""Python threads calling ops at once: results stay correct, and ops
release the GIL (threads sleeping inside an op overlap)."""

import threading
import time

import numpy as np
import pytest

import vaccel


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_threads_share_one_session(paths, record):
    with vaccel.Session(vaccel.PluginType.GENERIC) as s:
        def work(i):
            rng = np.random.default_rng(i)
            for _ in range(200):
                a = rng.integers(-10**6, 10**6, 17 + i, dtype=np.int32)
                out = np.empty_like(a)
                s.exec(paths["pyrecord"], "pyrecord_double", [a], [out])
                np.testing.assert_array_equal(out, 2 * a)
                # per-thread record: this thread's last call
                assert record.pyrecord_last_write() == out.ctypes.data
        run_threads(8, work)


def test_threads_with_own_sessions_and_resources(paths):
    def work(i):
        for j in range(50):
            with vaccel.Session(vaccel.PluginType.GENERIC) as s, \
                    vaccel.Resource(paths["mytestlib"],
                                    vaccel.ResourceType.LIB) as r:
                s.register(r)
                out = np.zeros((), dtype=np.int32)
                s.exec_with_resource(r, "mytestfunc",
                                     [np.array(i * 100 + j, np.int32)],
                                     [out])
                assert int(out) == 2 * (i * 100 + j)
                s.classify(b"img")  # noop serves it
                s.unregister(r)
    run_threads(6, work)


def test_ops_release_the_gil(paths):
    n, ms = 4, 300
    with vaccel.Session(vaccel.PluginType.GENERIC) as s:
        def work(i):
            s.exec(paths["pyrecord"], "pyrecord_sleep",
                   [np.array(ms, dtype=np.int32)])
        t0 = time.monotonic()
        run_threads(n, work)
        elapsed = time.monotonic() - t0
    # Serialized by the GIL it would take n * ms; overlapping, about ms.
    assert elapsed < n * ms / 1000 * 0.6, elapsed


def test_release_refused_while_an_op_runs(paths):
    s = vaccel.Session(vaccel.PluginType.GENERIC)
    started = threading.Event()

    def slow():
        started.set()
        s.exec(paths["pyrecord"], "pyrecord_sleep",
               [np.array(400, dtype=np.int32)])

    t = threading.Thread(target=slow)
    t.start()
    started.wait()
    time.sleep(0.1)
    with pytest.raises(vaccel.VaccelError) as e:
        s.release()
    assert e.value.code == vaccel.EBUSY
    t.join()
    s.release()
    assert s.released
