# SPDX-License-Identifier: Apache-2.0
"""The OpenFaaS classify handler (deploy/openfaas/classify/handler.c) under
the classic watchdog contract: image bytes on stdin, the tag on stdout, the
reason on stderr and a non-zero exit on failure.

Run by ctest (test_deploy_handler) with HANDLER, AGENT, NOOP_PLUGIN,
RPC_PLUGIN and IMAGE in the environment."""
import os
import subprocess
import tempfile
import time
import unittest

HANDLER = os.environ["HANDLER"]
AGENT = os.environ["AGENT"]
NOOP = os.environ["NOOP_PLUGIN"]
RPC = os.environ["RPC_PLUGIN"]
IMAGE = os.environ["IMAGE"]

# What the noop plugin answers to every classification (plugins/noop/noop.c).
NOOP_TAG = "This is a dummy classification tag!"


def vaccel_env(**extra):
    """A clean environment: no vAccel settings inherited from the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VACCEL_", "CLASSIFY_"))}
    env.update(extra)
    return env


def run_handler(stdin, args=(), **env):
    return subprocess.run([HANDLER, *args], input=stdin, capture_output=True,
                          env=vaccel_env(**env), timeout=60)


def read_image():
    with open(IMAGE, "rb") as f:
        return f.read()


class LocalPluginTest(unittest.TestCase):
    """The function's container runs the backend itself (noop here)."""

    def test_image_on_stdin_prints_the_tag(self):
        r = run_handler(read_image(), VACCEL_PLUGINS=NOOP)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_image_file_argument(self):
        r = run_handler(b"", args=[IMAGE], VACCEL_PLUGINS=NOOP)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_any_bytes_are_passed_through(self):
        # The handler does not decode the image: that is the backend's job.
        for size in (1, 4095, 65536, 65537, 300001):
            with self.subTest(size=size):
                r = run_handler(os.urandom(size), VACCEL_PLUGINS=NOOP)
                self.assertEqual(r.returncode, 0, r.stderr.decode())
                self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_size_limit_is_inclusive(self):
        data = os.urandom(1000)
        r = run_handler(data, VACCEL_PLUGINS=NOOP, CLASSIFY_MAX_BYTES="1000")
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        r = run_handler(data, VACCEL_PLUGINS=NOOP, CLASSIFY_MAX_BYTES="999")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"larger than 999 bytes", r.stderr)

    def test_model_resource(self):
        with tempfile.NamedTemporaryFile(suffix=".pt") as model:
            model.write(b"not really a model")
            model.flush()
            r = run_handler(read_image(), VACCEL_PLUGINS=NOOP,
                            CLASSIFY_MODEL=model.name)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")


class BadRequestTest(unittest.TestCase):
    """Exit status 2 and a reason; nothing on stdout (the HTTP body)."""

    def check(self, r, reason):
        self.assertEqual(r.returncode, 2, r.stderr.decode())
        self.assertEqual(r.stdout, b"")
        self.assertIn(reason, r.stderr.decode())

    def test_empty_body(self):
        self.check(run_handler(b"", VACCEL_PLUGINS=NOOP), "empty request")

    def test_missing_file(self):
        self.check(run_handler(b"", args=["/nonexistent/img.jpg"],
                               VACCEL_PLUGINS=NOOP), "No such file")

    def test_too_many_arguments(self):
        self.check(run_handler(b"", args=["a", "b"], VACCEL_PLUGINS=NOOP),
                   "usage:")

    def test_bad_size_limit(self):
        for value in ("0", "-5", "12abc", "lots", "99999999999999999999999"):
            with self.subTest(value=value):
                self.check(run_handler(b"x", VACCEL_PLUGINS=NOOP,
                                       CLASSIFY_MAX_BYTES=value),
                           "CLASSIFY_MAX_BYTES")


class VaccelFailureTest(unittest.TestCase):
    """Exit status 1 with vAccel's reason when the call cannot be served."""

    def check(self, r, *reasons):
        self.assertEqual(r.returncode, 1, r.stderr.decode())
        self.assertEqual(r.stdout, b"")
        for reason in reasons:
            self.assertIn(reason, r.stderr.decode())

    def test_no_plugin(self):
        self.check(run_handler(read_image()), "classify:", "vAccel error")

    def test_missing_model(self):
        self.check(run_handler(read_image(), VACCEL_PLUGINS=NOOP,
                               CLASSIFY_MODEL="/nonexistent/model.pt"),
                   "CLASSIFY_MODEL")

    def test_agent_not_running(self):
        with tempfile.TemporaryDirectory() as d:
            self.check(run_handler(
                read_image(), VACCEL_PLUGINS=RPC,
                VACCEL_RPC_ADDRESS=f"unix://{d}/absent.sock",
                VACCEL_RPC_CONNECT_TIMEOUT_MS="500"), "vAccel error")


class ThroughAgentTest(unittest.TestCase):
    """The deployed shape: the function has only the rpc plugin and a
    vaccel-agent runs the op, here on a unix socket as in the sidecar
    manifest. The tag can only have come from the agent's noop plugin."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.sock = os.path.join(cls.dir.name, "agent.sock")
        # stderr to a file: a pipe nobody reads could fill and block it.
        cls.log = open(os.path.join(cls.dir.name, "agent.log"), "w+b")
        cls.agent = subprocess.Popen(
            [AGENT, "--server-address", f"unix://{cls.sock}",
             "--workers", "2"],
            stdout=subprocess.PIPE, stderr=cls.log,
            env=vaccel_env(VACCEL_PLUGINS=NOOP))
        line = cls.agent.stdout.readline().decode()
        if "listening" not in line:
            cls.agent.kill()
            cls.agent.wait()
            raise RuntimeError(f"agent did not start: {line} {cls.agent_log()}")

    @classmethod
    def agent_log(cls):
        cls.log.seek(0)
        return cls.log.read().decode(errors="replace")

    @classmethod
    def tearDownClass(cls):
        cls.agent.terminate()
        try:
            cls.agent.communicate(timeout=30)
            # SIGTERM is a clean stop.
            assert cls.agent.returncode == 0, cls.agent_log()
        finally:
            cls.log.close()
            cls.dir.cleanup()

    def rpc_env(self):
        return dict(VACCEL_PLUGINS=RPC, VACCEL_RPC_ADDRESS=f"unix://{self.sock}")

    def test_classify_through_agent(self):
        r = run_handler(read_image(), **self.rpc_env())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_large_image_through_agent(self):
        # Larger than one frame: goes as a chunked call or shared memory.
        r = run_handler(os.urandom(5 << 20), **self.rpc_env())
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stdout.decode(), NOOP_TAG + "\n")

    def test_concurrent_requests(self):
        # The watchdog forks one handler per request, all at once.
        image = read_image()
        procs = [subprocess.Popen([HANDLER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE,
                                  env=vaccel_env(**self.rpc_env()))
                 for _ in range(8)]
        deadline = time.monotonic() + 60
        for p in procs:
            out, err = p.communicate(image,
                                     timeout=max(1, deadline - time.monotonic()))
            self.assertEqual(p.returncode, 0, err.decode())
            self.assertEqual(out.decode(), NOOP_TAG + "\n")


if __name__ == "__main__":
    unittest.main()
