# SPDX-License-Identifier: Apache-2.0
"""The .deb packages of cmake/Packaging.cmake: built with cpack -G DEB from
this build tree, then inspected with dpkg-deb (files, control fields), and
used: unpacked into one root, a consumer is compiled against the -dev
package through pkg-config and run through the packaged plugins, and the
packaged agent serves it.

Environment: CPACK, CPACK_CONFIG, WORK_DIR, PLUGINS (comma-separated plugin
names built here), VERSION, CC, IMAGE, DEPLOY_DIR."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

WORK = os.environ["WORK_DIR"]
VERSION = os.environ["VERSION"]
PLUGINS = [p for p in os.environ["PLUGINS"].split(",") if p]
DEB_VERSION = f"{VERSION}-1"
NOOP_TAG = "This is a dummy classification tag!"



# Packages of data only, built once for every architecture, with no library
# to depend on.
ARCH_INDEPENDENT = {"vaccel-data"}

def cpack_config():
    """set(VAR "value") lines of CPackConfig.cmake."""
    out = {}
    with open(os.environ["CPACK_CONFIG"]) as f:
        for m in re.finditer(r'^set\((\w+) "(.*)"\)$', f.read(), re.M):
            out[m.group(1)] = m.group(2)
    return out


def dpkg_deb(*args):
    return subprocess.run(["dpkg-deb", *args], check=True, capture_output=True,
                          text=True).stdout


def contents(deb):
    """{path: link target or None} of the files (not directories) in deb."""
    files = {}
    for line in dpkg_deb("-c", deb).splitlines():
        # perms owner/group size date time path [-> target]
        fields = line.split(None, 5)
        path = fields[5]
        if path.endswith("/"):
            continue
        target = None
        if " -> " in path:
            path, target = path.split(" -> ", 1)
        files[path.removeprefix(".")] = target
    return files


def control(deb):
    fields = {}
    key = None
    for line in dpkg_deb("-f", deb).splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
            continue
        key, _, val = line.partition(": ")
        fields[key] = val
    return fields


def depends(fields, key="Depends"):
    """{package: version constraint or ''}."""
    out = {}
    for item in filter(None, (s.strip() for s in fields.get(key, "").split(","))):
        # Alternatives ("a | b | c"): the first one names the dependency.
        item = item.split("|")[0].strip()
        m = re.fullmatch(r"([a-z0-9.+-]+)(?: \((.+)\))?", item)
        assert m, item
        out[m.group(1)] = m.group(2) or ""
    return out


_built = None


def build_packages():
    """cpack -G DEB into WORK, once per run: {package: .deb path}."""
    global _built
    if _built is None:
        shutil.rmtree(WORK, ignore_errors=True)
        os.makedirs(WORK)
        r = subprocess.run([os.environ["CPACK"], "-G", "DEB",
                            "--config", os.environ["CPACK_CONFIG"], "-B", WORK],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        _built = {}
        for name in os.listdir(WORK):
            if name.endswith(".deb"):
                _built[name[:-4].split("_")[0]] = os.path.join(WORK, name)
    return _built


class DebPackagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.debs = build_packages()
        cls.arch = subprocess.run(["dpkg", "--print-architecture"], check=True,
                                  capture_output=True, text=True).stdout.strip()
        cls.config = cpack_config()
        cls.split = [p for p in cls.config.get("CPACK_VACCEL_SPLIT_PLUGINS", "").split(";")
                     if p]
        cls.files = {pkg: contents(deb) for pkg, deb in cls.debs.items()}
        cls.fields = {pkg: control(deb) for pkg, deb in cls.debs.items()}

    def arch_of(self, pkg):
        # Data only (share/vaccel): one package for every architecture.
        return "all" if pkg in ARCH_INDEPENDENT else self.arch

    def test_file_names(self):
        for pkg, deb in self.debs.items():
            self.assertEqual(os.path.basename(deb),
                             f"{pkg}_{DEB_VERSION}_{self.arch_of(pkg)}.deb")

    def owner(self, path):
        owners = [pkg for pkg, files in self.files.items() if path in files]
        self.assertEqual(len(owners), 1, f"{path} is in {owners}")
        return owners[0]

    def test_package_set(self):
        named = {"runtime": "libvaccel0", "dev": "libvaccel-dev",
                 "plugins": "vaccel-plugins", "agent": "vaccel-agent"}
        components = self.config["CPACK_COMPONENTS_ALL"].split(";")
        for c in named:
            self.assertIn(c, components)
        # Components of other install rules: vaccel-<component>.
        expected = {named.get(c, "vaccel-" + c.lower().replace("_", "-"))
                    for c in components}
        self.assertEqual(set(self.debs), expected)
        self.assertNotIn("examples", components)

    def test_no_file_in_two_packages(self):
        seen = {}
        for pkg, files in self.files.items():
            for path in files:
                self.assertNotIn(path, seen, f"{path} in {pkg} and {seen.get(path)}")
                seen[path] = pkg

    def test_everything_under_usr(self):
        for pkg, files in self.files.items():
            for path in files:
                self.assertTrue(path.startswith("/usr/"), f"{pkg}: {path}")

    def test_runtime_library(self):
        files = self.files["libvaccel0"]
        self.assertEqual(files, {"/usr/lib/libvaccel.so.0": f"libvaccel.so.{VERSION}",
                                 f"/usr/lib/libvaccel.so.{VERSION}": None})

    def test_dev_package(self):
        for path in ("/usr/include/vaccel.h", "/usr/include/vaccel.hpp",
                     "/usr/include/vaccel/version.h", "/usr/include/vaccel/ops/image.h",
                     "/usr/lib/cmake/vaccel/vaccelConfig.cmake",
                     "/usr/lib/cmake/vaccel/vaccelConfigVersion.cmake",
                     "/usr/lib/cmake/vaccel/vaccelTargets.cmake",
                     "/usr/lib/pkgconfig/vaccel.pc"):
            self.assertEqual(self.owner(path), "libvaccel-dev", path)
        # The link for -lvaccel belongs with the headers, not the library.
        self.assertEqual(self.owner("/usr/lib/libvaccel.so"), "libvaccel-dev")
        self.assertEqual(self.files["libvaccel-dev"]["/usr/lib/libvaccel.so"],
                         "libvaccel.so.0")

    def test_plugins(self):
        self.assertIn("noop", PLUGINS)
        for plugin in PLUGINS:
            expected = (f"vaccel-plugin-{plugin}" if plugin in self.split
                        else "vaccel-plugins")
            self.assertEqual(self.owner(f"/usr/lib/libvaccel-{plugin}.so"), expected)
        self.assertEqual(set(self.files["vaccel-plugins"]),
                         {f"/usr/lib/libvaccel-{p}.so" for p in PLUGINS
                          if p not in self.split})

    def test_agent_package(self):
        self.assertEqual(set(self.files["vaccel-agent"]), {
            "/usr/bin/vaccel-agent",
            "/usr/lib/systemd/system/vaccel-agent.service",
            "/usr/lib/sysusers.d/vaccel-agent.conf",
            "/usr/share/doc/vaccel-agent/examples/vaccel-agent.env"})

    def test_control_fields(self):
        for pkg, fields in self.fields.items():
            self.assertEqual(fields["Package"], pkg)
            self.assertEqual(fields["Version"], DEB_VERSION)
            self.assertEqual(fields["Architecture"], self.arch_of(pkg))
            self.assertRegex(fields["Maintainer"], r"^.+ <[^>]+@[^>]+>$")
            # A synopsis of its own, then a long description.
            synopsis, _, long = fields["Description"].partition("\n")
            self.assertTrue(synopsis and len(synopsis) < 80, pkg)
            self.assertTrue(long.strip(), pkg)
        synopses = [f["Description"].split("\n")[0] for f in self.fields.values()]
        self.assertEqual(len(set(synopses)), len(synopses))
        self.assertEqual(self.fields["libvaccel0"]["Section"], "libs")
        self.assertEqual(self.fields["libvaccel-dev"]["Section"], "libdevel")

    def test_depends_on_the_exact_library(self):
        exact = f"= {DEB_VERSION}"
        for pkg in self.debs:
            if pkg != "libvaccel0" and pkg not in ARCH_INDEPENDENT:
                self.assertEqual(depends(self.fields[pkg]).get("libvaccel0"), exact, pkg)
        self.assertEqual(depends(self.fields["vaccel-agent"], "Recommends"),
                         {"vaccel-plugins": ""})

    def test_shared_library_depends(self):
        # Packaging.cmake turns dpkg-shlibdeps on wherever it can run.
        tools = bool(shutil.which("dpkg-shlibdeps") and shutil.which("file"))
        self.assertEqual(self.config.get("CPACK_DEBIAN_PACKAGE_SHLIBDEPS") == "ON", tools)
        lib = depends(self.fields["libvaccel0"])
        if not tools:
            self.assertEqual(lib, {})
            return
        for needed in ("libc6", "libstdc++6", "libcurl4"):
            self.assertIn(needed, lib)
        # The rpc plugin and the agent speak protobuf.
        if "rpc" in PLUGINS:
            self.assertTrue(any(d.startswith("libprotobuf")
                                for d in depends(self.fields["vaccel-plugins"])))
        self.assertTrue(any(d.startswith("libprotobuf")
                            for d in depends(self.fields["vaccel-agent"])))
        # Headers need nothing but the library.
        self.assertEqual(set(depends(self.fields["libvaccel-dev"])), {"libvaccel0"})

    def test_elf_files_are_stripped(self):
        with tempfile.TemporaryDirectory() as root:
            for pkg in ("libvaccel0", "vaccel-agent", "vaccel-plugins"):
                dpkg_deb("-x", self.debs[pkg], root)
            for path in ("usr/bin/vaccel-agent", f"usr/lib/libvaccel.so.{VERSION}",
                         "usr/lib/libvaccel-noop.so"):
                sections = subprocess.run(["readelf", "-S", "-W", os.path.join(root, path)],
                                          check=True, capture_output=True, text=True).stdout
                self.assertIn(".dynsym", sections, path)
                for gone in (".symtab", ".debug_info"):
                    self.assertNotIn(gone, sections, path)

    def test_installed_unit_names_the_packaged_agent(self):
        with tempfile.TemporaryDirectory() as root:
            dpkg_deb("-x", self.debs["vaccel-agent"], root)
            with open(os.path.join(root, "usr/lib/systemd/system/vaccel-agent.service")) as f:
                unit = f.read()
        self.assertRegex(unit, r"(?m)^ExecStart=/usr/bin/vaccel-agent ")
        with open(os.path.join(os.environ["DEPLOY_DIR"], "systemd",
                               "vaccel-agent.service")) as f:
            self.assertEqual(unit, f.read())


class DebUseTest(unittest.TestCase):
    """The packages unpacked into one root, used as a consumer would:
    pkg-config from the -dev package, bare plugin names found next to the
    packaged libvaccel, the packaged agent serving the rpc plugin."""

    @classmethod
    def setUpClass(cls):
        debs = build_packages().values()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = os.path.join(cls.tmp.name, "root")
        for deb in debs:
            dpkg_deb("-x", deb, cls.root)
        cls.usr = os.path.join(cls.root, "usr")

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(cls.usr, "lib", "pkgconfig"),
                   PKG_CONFIG_LIBDIR="")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "vaccel"], env=env,
                               check=True, capture_output=True, text=True).stdout.split()
        cls.handler = os.path.join(cls.tmp.name, "openfaas-classify")
        # As the function's Dockerfile does, plus an rpath to the unpacked root.
        subprocess.run([os.environ["CC"], "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror",
                        "-o", cls.handler,
                        os.path.join(os.environ["DEPLOY_DIR"], "openfaas", "classify",
                                     "handler.c"),
                        *flags, f"-Wl,-rpath,{cls.usr}/lib"], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
        env.update(extra)
        return env

    def classify(self, **env):
        with open(os.environ["IMAGE"], "rb") as f:
            return subprocess.run([self.handler], stdin=f, capture_output=True,
                                  env=self.env(**env), timeout=60)

    def test_pkg_config_points_into_the_package(self):
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(self.usr, "lib", "pkgconfig"))
        out = subprocess.run(["pkg-config", "--variable=includedir", "vaccel"], env=env,
                             check=True, capture_output=True, text=True).stdout.strip()
        self.assertEqual(os.path.realpath(out), os.path.join(self.usr, "include"))

    def test_consumer_runs_the_packaged_plugin(self):
        r = self.classify(VACCEL_PLUGINS="libvaccel-noop.so")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_packaged_agent_serves_the_consumer(self):
        sock = os.path.join(self.tmp.name, "agent.sock")
        with open(os.path.join(self.tmp.name, "agent.log"), "w+b") as log:
            agent = subprocess.Popen(
                [os.path.join(self.usr, "bin", "vaccel-agent"), "--server-address",
                 f"unix://{sock}"], stdout=subprocess.PIPE, stderr=log,
                env=self.env(VACCEL_PLUGINS="libvaccel-noop.so"))
            try:
                self.assertIn("listening", agent.stdout.readline().decode())
                r = self.classify(VACCEL_PLUGINS="libvaccel-rpc.so",
                                  VACCEL_RPC_ADDRESS=f"unix://{sock}")
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")
            finally:
                agent.terminate()
                agent.communicate(timeout=30)
            log.seek(0)
            self.assertEqual(agent.returncode, 0, log.read().decode())


if __name__ == "__main__":
    unittest.main()
