# SPDX-License-Identifier: Apache-2.0
"""Module-level API: version, errors, enums, configuration, plugins,
bootstrap and cleanup."""

import os
import re

import pytest

import vaccel


def test_version_matches_header(paths):
    with open(os.path.join(paths["build"], "include", "vaccel",
                           "version.h"), encoding="utf-8") as f:
        want = re.search(r'#define VACCEL_VERSION "([^"]+)"', f.read())[1]
    assert vaccel.__version__ == want
    assert vaccel.version == want
    assert ".".join(map(str, vaccel.version_info)) == want


def test_error_codes_are_the_c_values():
    # Linux errno values, as include/vaccel/error.h spells them.
    assert (vaccel.OK, vaccel.EINVAL, vaccel.ENOENT, vaccel.ENOTSUP,
            vaccel.EBUSY, vaccel.ENOSYS, vaccel.EBACKEND,
            vaccel.EEXIST) == (0, 22, 2, 95, 16, 38, 71, 17)
    assert vaccel.error_name(22) == "EINVAL"
    assert vaccel.error_name(12345) == "E12345"


def test_vaccel_error_fields():
    e = vaccel.VaccelError(vaccel.ENOENT, "no such thing", "f")
    assert isinstance(e, RuntimeError)
    assert (e.code, e.name, e.message, e.what) == (2, "ENOENT",
                                                   "no such thing", "f")
    assert str(e) == "f failed (ENOENT, 2): no such thing"


def test_enums_have_the_c_values():
    assert int(vaccel.OpType.NOOP) == 0
    assert int(vaccel.OpType.OPENCV) == 23
    assert len(vaccel.OpType.__members__) == 24
    assert int(vaccel.ResourceType.MODEL) == 2
    assert int(vaccel.ArgType.INT32) == 5
    assert int(vaccel.ArgType.CUSTOM) == 29
    assert int(vaccel.PluginType.GENERIC) == 0x80
    assert vaccel.PluginType.CPU | vaccel.PluginType.GENERIC == 0x81
    assert int(vaccel.TorchDataType.FLOAT) == 7
    assert int(vaccel.TFDataType.UINT64) == 23
    assert int(vaccel.TFLiteDataType.INT4) == 18


def test_config_reflects_the_environment(paths):
    cfg = vaccel.config()
    assert cfg["plugins"] == os.environ["VACCEL_PLUGINS"]
    assert cfg["log_level"] == 1
    assert cfg["log_file"] is None
    assert cfg["profiling_enabled"] is False
    assert vaccel.is_initialized()
    assert os.path.isdir(vaccel.rundir())


def test_plugins_and_their_ops(paths):
    plugins = vaccel.plugins()
    assert [p.name for p in plugins] == ["noop", "exec"]
    noop, exe = plugins
    assert noop.path == paths["noop"]
    assert noop.version == vaccel.version
    assert noop.vaccel_version == vaccel.version
    assert noop.ops == list(vaccel.OpType.__members__.values())
    assert exe.ops == [vaccel.OpType.NOOP, vaccel.OpType.EXEC,
                       vaccel.OpType.EXEC_WITH_RESOURCE]
    assert noop.type & vaccel.PluginType.DEBUG
    assert exe.type & vaccel.PluginType.GENERIC
    assert vaccel.plugin_count() == 2
    assert vaccel.plugin_has_op("exec", vaccel.OpType.EXEC)
    assert not vaccel.plugin_has_op("exec", vaccel.OpType.BLAS_SGEMM)
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.plugin_has_op("nosuchplugin", vaccel.OpType.NOOP)
    assert e.value.code == vaccel.ENOENT


def test_bootstrap_twice_restarts(fresh_runtime):
    # Upstream parity: a second bootstrap starts the runtime again (it was
    # EEXIST before).
    first = vaccel.rundir()
    vaccel.bootstrap()
    assert vaccel.is_initialized()
    assert vaccel.rundir() != first


def test_restart_with_other_plugins(fresh_runtime, paths):
    vaccel.cleanup()
    assert not vaccel.is_initialized()
    assert vaccel.config() == {}
    assert vaccel.rundir() is None
    vaccel.bootstrap(plugins=paths["exec"], log_level=vaccel.LogLevel.WARN)
    assert [p.name for p in vaccel.plugins()] == ["exec"]
    assert vaccel.config()["log_level"] == 2
    with vaccel.Session() as s:
        assert s.op_plugin(vaccel.OpType.IMAGE_CLASSIFY) is None
        with pytest.raises(vaccel.VaccelError) as e:
            s.classify(b"image")
        assert e.value.code == vaccel.ENOTSUP
        assert e.value.name == "ENOTSUP"
        # vaccel_last_error() names the op nobody implements
        assert "CLASSIFY" in e.value.message.upper()


def test_bad_bootstrap_values_raise(fresh_runtime):
    vaccel.cleanup()
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.bootstrap(log_level=9)
    assert e.value.code == vaccel.EINVAL
    assert not vaccel.is_initialized()
