# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures of the Python binding tests (run by CTest, which sets the
environment: PYTHONPATH at the build tree's package, VACCEL_PLUGINS at the
noop and exec plugins, VACCEL_TEST_* at the fixtures)."""

import ctypes
import os

import pytest

import vaccel


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through ctest")
    return value


@pytest.fixture(scope="session")
def paths():
    return {
        "noop": _env("VACCEL_TEST_NOOP_PLUGIN"),
        "exec": _env("VACCEL_TEST_EXEC_PLUGIN"),
        "mytestlib": _env("VACCEL_TEST_MYTESTLIB"),
        "pyrecord": _env("VACCEL_TEST_PYRECORD"),
        "data": _env("VACCEL_TEST_DATA"),
        "source": _env("VACCEL_TEST_SOURCE_DIR"),
        "build": _env("VACCEL_TEST_BUILD_DIR"),
    }


@pytest.fixture(scope="session")
def record(paths):
    """The fixture library, loaded with ctypes: the same handle the exec
    plugin gets from dlopen(), so its recorded addresses are readable."""
    lib = ctypes.CDLL(paths["pyrecord"])
    for fn in ("pyrecord_last_read", "pyrecord_last_write"):
        getattr(lib, fn).restype = ctypes.c_size_t
    return lib


@pytest.fixture
def session():
    """A session preferring the noop plugin (loaded first)."""
    with vaccel.Session() as s:
        yield s


@pytest.fixture
def exec_session():
    """A session whose exec ops go to the exec plugin (type GENERIC)."""
    with vaccel.Session(vaccel.PluginType.GENERIC) as s:
        assert s.op_plugin(vaccel.OpType.EXEC) == "exec"
        yield s


@pytest.fixture
def fresh_runtime(paths):
    """Lets a test restart the runtime; restores noop+exec afterwards."""
    yield
    vaccel.cleanup()
    vaccel.bootstrap(plugins=f"{paths['noop']}:{paths['exec']}")
