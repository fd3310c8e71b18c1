# SPDX-License-Identifier: Apache-2.0
"""Builds the `vaccel` Python package with setuptools (no CMake needed).

Where libvaccel comes from, first match wins:
  VACCEL_BUILD_DIR=<cmake build dir>   an in-tree build (headers from the
                                        source tree + the build's
                                        include/, library from <dir>/lib);
                                        VACCEL_SOURCE_DIR overrides the
                                        source tree (default: ../.. of this
                                        file)
  VACCEL_PREFIX=<install prefix>        an install (<prefix>/include,
                                        <prefix>/lib or lib64)
  pkg-config vaccel                     an install on the pkg-config path
The extension gets an RPATH to the library directory, so no LD_LIBRARY_PATH
is needed. pybind11's headers come from Debian's pybind11-dev (or the
pybind11 Python package when installed).

Offline (Debian has no build backends on PyPI's side):
  pip install --no-build-isolation bindings/python
"""

import os
import re
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args, "vaccel"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.strip()


def _library_location():
    """(include dirs, library dirs, version) of the libvaccel to build on."""
    build = os.environ.get("VACCEL_BUILD_DIR")
    if build:
        build = os.path.abspath(build)
        source = os.path.abspath(os.environ.get(
            "VACCEL_SOURCE_DIR", os.path.join(HERE, "..", "..")))
        return ([os.path.join(source, "include"),
                 os.path.join(build, "include")],
                [os.path.join(build, "lib")],
                _version_from_header(os.path.join(build, "include")))
    prefix = os.environ.get("VACCEL_PREFIX")
    if prefix:
        libs = [os.path.join(prefix, d) for d in ("lib", "lib64")
                if os.path.isdir(os.path.join(prefix, d))]
        inc = os.path.join(prefix, "include")
        return [inc], libs, _version_from_header(inc)
    cflags = _pkg_config("--cflags-only-I")
    libs = _pkg_config("--libs-only-L")
    if cflags is None or libs is None:
        raise SystemExit(
            "vaccel: libvaccel not found: set VACCEL_BUILD_DIR (a CMake "
            "build tree), VACCEL_PREFIX (an install prefix), or install it "
            "where pkg-config finds vaccel.pc")
    return ([f[2:] for f in shlex.split(cflags) if f.startswith("-I")],
            [f[2:] for f in shlex.split(libs) if f.startswith("-L")],
            _pkg_config("--modversion") or "0.0.0")


def _version_from_header(include_dir):
    path = os.path.join(include_dir, "vaccel", "version.h")
    try:
        with open(path, encoding="utf-8") as f:
            m = re.search(r'#define VACCEL_VERSION "([^"]+)"', f.read())
    except OSError:
        m = None
    return m.group(1) if m else "0.0.0"


def _pybind11_includes():
    try:
        import pybind11  # Debian: python3-pybind11 (optional)
        return [pybind11.get_include()]
    except ImportError:
        return []  # Debian's pybind11-dev installs into /usr/include


include_dirs, library_dirs, version = _library_location()
sources = sorted(os.path.join("src", f)
                 for f in os.listdir(os.path.join(HERE, "src"))
                 if f.endswith(".cpp"))

ext = Extension(
    "vaccel._vaccel",
    sources=sources,
    include_dirs=include_dirs + _pybind11_includes(),
    library_dirs=library_dirs,
    runtime_library_dirs=library_dirs,
    libraries=["vaccel"],
    language="c++",
    extra_compile_args=["-std=c++20", "-fvisibility=hidden"],
)

setup(
    name="vaccel",
    version=version,
    description="Python bindings of vAccel (hardware acceleration for VMs, "
                "containers and unikernels)",
    license="Apache-2.0",
    packages=["vaccel"],
    ext_modules=[ext],
    python_requires=">=3.9",
    zip_safe=False,
)
