# SPDX-License-Identifier: Apache-2.0
"""The documented offline install (docs/python.md): pip builds
bindings/python with setuptools against the build tree's libvaccel, into a
target directory, and a fresh interpreter imports it from there and runs
ops."""

import os
import shutil
import subprocess
import sys


def test_pip_install_target_and_import(tmp_path, paths):
    # A copy of the package: setuptools builds in-tree and would leave
    # build/ and *.egg-info in the source tree.
    src = tmp_path / "python"
    shutil.copytree(os.path.join(paths["source"], "bindings", "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(VACCEL_BUILD_DIR=paths["build"],
               VACCEL_SOURCE_DIR=paths["source"],
               CFLAGS="-O0",  # only compile speed matters here
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    cmd = [sys.executable, "-m", "pip", "install", "--no-build-isolation",
           "--no-index", "--no-deps", "--target", str(target), str(src)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                       timeout=540)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / "vaccel" / "__init__.py").is_file()

    script = f"""
import numpy as np, vaccel
print(vaccel.__file__)
print(vaccel.__version__)
with vaccel.Session(vaccel.PluginType.GENERIC) as s:
    out = np.zeros((), dtype=np.int32)
    s.exec({paths['mytestlib']!r}, "mytestfunc",
           [np.array(21, dtype=np.int32)], [out])
    print("output", int(out))
    try:
        s.exec({paths['mytestlib']!r}, "missing")
    except vaccel.VaccelError as e:
        print("error", e.name)
"""
    r = subprocess.run([sys.executable, "-c", script],
                       env=dict(env, PYTHONPATH=str(target)),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(str(target / "vaccel"))
    with open(os.path.join(paths["build"], "include", "vaccel",
                           "version.h"), encoding="utf-8") as f:
        assert f'"{lines[1]}"' in f.read()
    assert "output 42" in lines
    assert lines[-1] == "error ENOSYS"


def test_setup_py_explains_a_missing_library(tmp_path):
    # No VACCEL_BUILD_DIR/VACCEL_PREFIX and no vaccel.pc: a clear message.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("VACCEL_") and k != "PKG_CONFIG_PATH"}
    env["PKG_CONFIG_LIBDIR"] = str(tmp_path)  # hide any installed vaccel.pc
    here = os.path.join(os.environ["VACCEL_TEST_SOURCE_DIR"], "bindings",
                        "python")
    r = subprocess.run([sys.executable, "setup.py", "--name"], cwd=here,
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "libvaccel not found" in r.stderr
