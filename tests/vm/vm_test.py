#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of vAccel guests (label "vm"; tests/vm/CMakeLists.txt).

Each scenario boots the guest of guest/build-initramfs.sh in QEMU under TCG
and checks what comes out:

  examples-raw    guest/run-vm.sh, an agent started here: the examples in the
                  guest print exactly what the same examples print natively
                  (build/bin, through the rpc plugin) against the same agent
  backends        the real backend plugins (torch, opencv, blas) on the
                  agent: the examples in the guest print exactly what the same
                  examples print natively with the plugins loaded in-process
                  (no agent, no rpc; or through the agent), and what the models and the maths say
                  they must (labels of the Fashion-MNIST samples, sgemm's
                  result checked element by element, minmax of the data)
  examples-vm     the same as examples-raw through vaccel-vm, which starts its own agent; the
                  guest command's exit status comes back
  crash           a kernel panic: vaccel-vm returns 123, the agent is gone
  kill-vmm        QEMU killed with SIGKILL: 123, the agent is gone
  sigterm         SIGTERM to vaccel-vm: 143, QEMU and the agent are gone
  sigkill         SIGKILL to vaccel-vm: QEMU and the agent die with it
  sandbox-memory  vaccel-vm with and without the sandbox memory (ivshmem):
                  tensors and buffers round trip byte for byte either way,
                  by offset with it (the plugin's trace names the
                  shared-memory methods) and through the transport without
  sandbox-memory-attach
                  two guests at once, each attached to one running agent
                  with a memory of its own, each checking its own bytes
  cli             vaccel-vm --dry-run and argument errors (no VM)
  static          the guest programs are static ELF files; VACCEL_PLUGINS
                  and URL resources are refused with a reason (no VM)

Only the Python standard library is used.
"""
import argparse
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ARGS = None


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def log(msg):
    print(msg, flush=True)


# ---- helpers -----------------------------------------------------------------

def plugin_paths():
    return [os.path.join(ARGS.lib_dir, "libvaccel-%s.so" % p) for p in ARGS.plugins.split(",")]


# Settings shared by an agent and the native runs it is compared with.
# OpenBLAS splits sgemm by its thread count; one thread on both sides keeps
# the result bytes independent of the machine's core count.
BACKEND_ENV = {"OPENBLAS_NUM_THREADS": "1"}


def start_agent(workdir, address, extra=()):
    """A vaccel-agent serving the plugins under test; returns (proc, address)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
    env.update(BACKEND_ENV)
    env["VACCEL_PLUGINS"] = ":".join(plugin_paths())
    env["VACCEL_LOG_LEVEL"] = "2"
    out = open(os.path.join(workdir, "agent.out"), "w+")
    proc = subprocess.Popen([ARGS.agent, "-a", address, "--policy", ARGS.policy] + list(extra), stdout=out,
                            stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 15
    while time.time() < deadline:
        out.seek(0)
        m = re.search(r"listening on (\S+)", out.read())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    out.seek(0)
    fail("agent did not start:\n" + out.read())


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# Cases that must fail, with their exit status, natively and in the guest
# alike: upstream's cnn_trace.pt has 10 outputs, and classifying it against
# the 1000 ImageNet labels is an error (VACCEL_EINVAL), not a wrong label.
EXPECTED_RC = {"classify_imagenet": 22, "classify_cxx_imagenet": 22}

# The model directories of the guest's /data (tests/vm/CMakeLists.txt puts
# the same files there): directory -> [(source, name in the directory)].
# Each is one multi-file resource: the model, its labels and its
# preprocessing travel together.
def model_dirs():
    models = ARGS.models_dir
    labels = os.path.join(models, "fashion_mnist_labels.txt")
    return {
        "torch-fashion": [(os.path.join(models, "fashion_mnist.pt"), "fashion_mnist.pt"),
                          (labels, "fashion_mnist_labels.txt"),
                          (os.path.join(models, "fashion_mnist_torch.cfg"), "fashion.cfg")],
        "torch-imagenet": [(os.path.join(ARGS.data_dir, "cnn_trace.pt"), "cnn_trace.pt"),
                           (os.path.join(ARGS.data_dir, "imagenet.txt"), "imagenet.txt")],
        "opencv-fashion": [(os.path.join(models, "fashion_mnist.onnx"), "fashion_mnist.onnx"),
                           (labels, "fashion_mnist_labels.txt"),
                           (os.path.join(models, "fashion_mnist_opencv.cfg"), "fashion.cfg")],
    }


def native_data_dir(workdir):
    """examples/data, libmytestlib.so and the model directories, as the
    guest's /data has them."""
    d = os.path.join(workdir, "data")
    if os.path.isdir(d):
        return d
    os.makedirs(d)
    for name in os.listdir(ARGS.data_dir):
        os.symlink(os.path.join(ARGS.data_dir, name), os.path.join(d, name))
    os.symlink(ARGS.mytestlib, os.path.join(d, "libmytestlib.so"))
    if ARGS.models_dir:
        for sub, files in model_dirs().items():
            os.makedirs(os.path.join(d, sub))
            for src, name in files:
                shutil.copyfile(src, os.path.join(d, sub, name))
    return d


def run_native(workdir, address):
    """The examples on the host, through the rpc plugin, against @address;
    with address None, with the plugins under test loaded in-process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
    if address is None:
        env.update(BACKEND_ENV)
        env["VACCEL_PLUGINS"] = ":".join(plugin_paths())
    else:
        env["VACCEL_PLUGINS"] = os.path.join(ARGS.lib_dir, "libvaccel-rpc.so")
        env["VACCEL_RPC_ADDRESS"] = address
    tmp = os.path.join(workdir, "native-tmp")
    os.makedirs(tmp, exist_ok=True)
    env["TMPDIR"] = tmp
    r = subprocess.run(["busybox", "sh", ARGS.runner, ARGS.native_bin, native_data_dir(workdir),
                        ARGS.mytestlib] + ARGS.cases.split(","),
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    return r.stdout


def parse_blocks(text):
    """{case: (rc, [stdout lines])} from run-examples.sh output."""
    blocks = {}
    current = None
    lines = []
    for raw in text.replace("\r", "").split("\n"):
        m = re.match(r"^@@BEGIN (\S+)$", raw)
        if m:
            current, lines = m.group(1), []
            continue
        m = re.match(r"^@@END (\S+) rc=(\d+)$", raw)
        if m and current == m.group(1):
            blocks[current] = (int(m.group(2)), lines)
            current = None
            continue
        if current is not None:
            lines.append(raw)
    return blocks


def expand_cases(native):
    """The requested cases, each expanded into the "<case>:<sample>" blocks
    it printed natively (run-examples.sh runs some over several inputs)."""
    out = []
    for c in ARGS.cases.split(","):
        subs = [b for b in native if b.startswith(c + ":")]
        out += subs if subs else [c]
    return out


def compare(native_text, guest_text, extra_checks=None):
    native = parse_blocks(native_text)
    guest = parse_blocks(guest_text)
    cases = expand_cases(native)
    problems = []
    for c in cases:
        if c not in native:
            problems.append("native run has no result for %s" % c)
            continue
        rc, lines = native[c]
        if rc != EXPECTED_RC.get(c, 0):
            problems.append("native %s: rc %d, expected %d: %s" % (c, rc, EXPECTED_RC.get(c, 0), lines))
        if c not in guest:
            problems.append("guest run has no result for %s" % c)
            continue
        if guest[c] != native[c]:
            problems.append("%s differs:\n  native rc=%d %s\n  guest  rc=%d %s"
                            % (c, native[c][0], native[c][1], guest[c][0], guest[c][1]))
    # Results that do not depend on which backends are loaded: the exec
    # plugin doubles mytestlib's input (10).
    expect = {
        "exec_generic": ["output: 20"],
        "exec_with_resource": ["output1: 20", "output1: 20", "output2: 20", "output2: 20"],
        "noop": ["Initialized session with id: 1"],
    }
    for c, want in expect.items():
        if c in native and [l for l in native[c][1] if l in want] != want:
            problems.append("native %s: expected lines %s, got %s" % (c, want, native[c][1]))
    if extra_checks:
        problems += extra_checks(native)
    if problems:
        log("---- native output\n" + native_text + "---- guest output\n" + guest_text)
        fail("\n".join(problems))
    log("guest and native agree on %d example runs: %s" % (len(cases), ", ".join(cases)))


def launcher_cmd(workdir, transport, guest_cmd, extra=()):
    return [ARGS.launcher, "-k", os.path.join(ARGS.image, "vmlinuz"), "-i", os.path.join(ARGS.image, "initrd.img"),
            "-p", ":".join(plugin_paths()), "-t", transport, "--workdir", os.path.join(workdir, "sandbox"),
            "--timeout", "240", "--agent-arg=--policy=" + ARGS.policy] + list(extra) + ["--"] + guest_cmd


def processes_mentioning(text):
    """pids of processes (other than us) whose command line contains text."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmd and state != "Z":
            pids.append((int(pid), cmd))
    return pids


def wait_gone(text, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        left = processes_mentioning(text)
        if not left:
            return
        time.sleep(0.1)
    fail("still running after %d s: %s" % (seconds, left))


def read_until(proc, marker, seconds):
    """Reads proc's stdout until a line equal to marker; returns the text."""
    text = ""
    deadline = time.time() + seconds
    fd = proc.stdout.fileno()
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 4096).decode(errors="replace")
            if not chunk:
                break
            text += chunk
            if re.search(r"(^|\n)" + re.escape(marker) + r"\r?\n", text):
                return text
    fail("no '%s' from the guest in %d s; output:\n%s" % (marker, seconds, text))


# ---- scenarios ---------------------------------------------------------------

def start_agent_for(workdir, transport):
    """An agent wired for @transport; returns (proc, address, run-vm.sh args)."""
    if transport == "virtio-serial":
        agent, address = start_agent(workdir, "unix://" + os.path.join(workdir, "agent.sock"))
        return agent, address, ["--agent-socket", os.path.join(workdir, "agent.sock")]
    agent, address = start_agent(workdir, "tcp://127.0.0.1:0")
    return agent, address, ["--agent-port", address.rsplit(":", 1)[1]]


def run_guest(wiring):
    """run-examples in a guest booted by run-vm.sh; returns its console."""
    t0 = time.time()
    r = subprocess.run([ARGS.run_vm, "--image", ARGS.image, "--transport", ARGS.transport, "--timeout", "240"]
                       + wiring + ["--", "run-examples", "/usr/bin", "/data", ARGS.mytestlib]
                       + ARGS.cases.split(","),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    log("VM run (%s, plugins %s): %.1f s, exit status %d"
        % (ARGS.transport, ARGS.plugins, time.time() - t0, r.returncode))
    if r.returncode != 0:
        fail("run-vm.sh exited with %d:\n%s" % (r.returncode, r.stdout))
    return r.stdout


def scenario_examples_raw(workdir):
    agent, address, wiring = start_agent_for(workdir, ARGS.transport)
    try:
        native = run_native(workdir, address)
        compare(native, run_guest(wiring))
    finally:
        stop(agent)


def fashion_label(sample, labels):
    """The class of examples/data/fashion/NNNN_<class>.png, as the labels
    file spells it ("t-shirt-top" is "T-shirt/top")."""
    slug = sample.split("_", 1)[1]
    for label in labels:
        if re.sub(r"[^a-z0-9]+", "-", label.lower()) == slug:
            return label
    fail("no label for the sample %s" % sample)


def sgemm_reference_check(workdir):
    """Runs sgemm natively with the plugins in-process, checks every element
    of C against the closed form of examples/sgemm.c's product, and returns
    the sha256 of its bytes (what run-examples.sh prints)."""
    import array
    import hashlib
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
    env.update(BACKEND_ENV)
    env["VACCEL_PLUGINS"] = ":".join(plugin_paths())
    path = os.path.join(workdir, "sgemm.bin")
    r = subprocess.run([os.path.join(ARGS.native_bin, "sgemm"), "1", path], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    if r.returncode != 0:
        fail("native sgemm failed (rc %d):\n%s" % (r.returncode, r.stdout))
    with open(path, "rb") as f:
        data = f.read()
    c = array.array("f")
    c.frombytes(data)
    # A, B and C are filled with (i * j) / 512, so
    # C'[i][j] = alpha * i * j * sum(k^2) / 512^2 + beta * i * j / 512.
    dim, alpha, beta = 512, 32412.0, 2123.0
    s2 = sum(k * k for k in range(dim))
    bad = 0
    for i in range(dim):
        for j in range(dim):
            want = alpha * i * j * s2 / (dim * dim) + beta * i * j / dim
            if abs(c[i * dim + j] - want) > 1e-4 * abs(want) + 1e-3:
                bad += 1
    if len(c) != dim * dim or bad:
        fail("sgemm: %d of %d elements of C are wrong (%d bytes)" % (bad, dim * dim, len(data)))
    return hashlib.sha256(data).hexdigest()


def backend_checks(workdir):
    """What the backends must print whatever the transport: checked on the
    native blocks (the guest's must equal them), so that a case that runs
    on the wrong plugin or on none fails even where both sides agree."""
    with open(os.path.join(ARGS.models_dir, "fashion_mnist_labels.txt")) as f:
        fashion = [l.strip() for l in f if l.strip()]
    with open(os.path.join(ARGS.data_dir, "input_2048.csv")) as f:
        values = [float(l) for l in f if l.strip()]
    cases = ARGS.cases.split(",")
    sgemm_hash = sgemm_reference_check(workdir) if "sgemm" in cases or "sgemm_generic" in cases else None

    def check(native):
        problems = []

        def want(block, lines):
            got = native.get(block, (None, []))[1]
            if got != lines:
                problems.append("native %s: expected %s, got %s" % (block, lines, got))

        for block in native:
            case, _, sample = block.partition(":")
            if case == "fashion_torch":
                want(block, ["Initialized session with id: 1",
                             "classification tags: " + fashion_label(sample, fashion),
                             "classification imagename: PLACEHOLDER"])
            elif case == "fashion_opencv":
                want(block, ["Initialized session with id: 1",
                             "classification tags: " + fashion_label(sample, fashion),
                             "classification imagename: <rundir>/classify.png"])
        for case in ("fashion_torch", "fashion_opencv"):
            n = len([b for b in native if b.startswith(case + ":")])
            if case in cases and n < 10:
                problems.append("%s: %d samples classified, expected the 10 of examples/data/fashion" % (case, n))
        for case in ("classify_imagenet", "classify_cxx_imagenet"):
            if case in cases:
                tags = [l for l in native.get(case, (0, []))[1] if l.startswith("classification tags: ")]
                if tags:
                    problems.append("native %s: a label from 1000 ImageNet labels for a 10-output model: %s"
                                    % (case, tags))
        if "torch_inference" in cases:
            # upstream's CNN: one row of 10 float32 scores
            want("torch_inference", ["Initialized model resource 1", "Initialized vAccel session 1", "Success!",
                                     "Result Tensor :", "Output tensor => type:7 nr_dims:2 size:40B"])
        for case in ("sgemm", "sgemm_generic"):
            if case in cases:
                want(case, ["Initialized session with id: 1", "C sha256: " + sgemm_hash])
        if "minmax_wide" in cases:
            want("minmax_wide", ["min: %f max: %f" % (min(values), max(values))])
        return problems

    return check


def scenario_backends(workdir):
    """The real backends: guest output == the same examples run natively
    with the same plugins loaded in-process (--native local; "agent": through
    the rpc plugin against the guest's agent, for programs whose libraries
    print on the side that runs them, as mytestlib does), and == what the
    models and the maths say."""
    checks = backend_checks(workdir)
    agent, address, wiring = start_agent_for(workdir, ARGS.transport)
    try:
        native = run_native(workdir, None if ARGS.native == "local" else address)
        compare(native, run_guest(wiring), checks)
    finally:
        stop(agent)


def scenario_examples_vm(workdir):
    agent, address = start_agent(workdir, "unix://" + os.path.join(workdir, "agent.sock"))
    try:
        native = run_native(workdir, address)
    finally:
        stop(agent)
    guest_cmd = ["sh", "-c", 'run-examples /usr/bin /data "$0" %s; exit 7' % " ".join(ARGS.cases.split(",")),
                 ARGS.mytestlib]
    t0 = time.time()
    r = subprocess.run(launcher_cmd(workdir, ARGS.transport, guest_cmd), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    log("vaccel-vm (%s): %.1f s, exit status %d" % (ARGS.transport, time.time() - t0, r.returncode))
    if r.returncode != 7:
        fail("vaccel-vm exited with %d, expected the guest's 7\nstdout:\n%s\nstderr:\n%s"
             % (r.returncode, r.stdout, r.stderr))
    if "VACCEL_VM_EXIT" in r.stdout:
        fail("the exit marker leaked to stdout:\n" + r.stdout)
    compare(native, r.stdout)
    sandbox = os.path.join(workdir, "sandbox")
    wait_gone(sandbox, 5)
    leftovers = sorted(os.listdir(sandbox))
    if leftovers:
        fail("vaccel-vm left files in its work directory: %s" % leftovers)


def scenario_examples_attach(workdir):
    """vaccel-vm --attach: the sandbox is handed to an agent that already runs
    (its admin socket), as a tenant under the policy the launcher names; the
    guest's results equal the native ones, and the agent serves on after the
    sandbox is detached."""
    admin = "unix://" + os.path.join(workdir, "admin.sock")
    agent, address = start_agent(workdir, "unix://" + os.path.join(workdir, "agent.sock"),
                                 ["--admin-socket", admin])
    try:
        native = run_native(workdir, address)
        policy = os.path.join(workdir, "tenant.toml")
        with open(policy, "w") as f:
            f.write('ops = ["all"]\nexec = [{ library = "*", symbol = "*" }]\n')
        guest_cmd = ["sh", "-c", 'run-examples /usr/bin /data "$0" %s; exit 7' % " ".join(ARGS.cases.split(",")),
                     ARGS.mytestlib]
        cmd = [ARGS.launcher, "-k", os.path.join(ARGS.image, "vmlinuz"), "-i", os.path.join(ARGS.image, "initrd.img"),
               "-t", ARGS.transport, "--workdir", os.path.join(workdir, "sandbox"), "--timeout", "240",
               "--attach", admin, "--tenant", "fn-1", "--policy", policy, "--"] + guest_cmd
        t0 = time.time()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        log("vaccel-vm --attach (%s): %.1f s, exit status %d" % (ARGS.transport, time.time() - t0, r.returncode))
        if r.returncode != 7:
            fail("vaccel-vm --attach exited with %d, expected the guest's 7\nstdout:\n%s\nstderr:\n%s"
                 % (r.returncode, r.stdout, r.stderr))
        compare(native, r.stdout)
        if agent.poll() is not None:
            fail("the shared agent ended with the sandbox")
        out = open(os.path.join(workdir, "agent.out")).read()
        for line in ('"audit":"attach"', 'tenant fn-1', '"audit":"detach"'):
            if line not in out:
                fail("agent log lacks %s:\n%s" % (line, out))
        # Another sandbox's tenant with another policy for the same name
        # is refused before the VM boots.
        with open(policy, "w") as f:
            f.write('ops = ["noop"]\n')
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        if r.returncode != 125 or "already has another policy" not in r.stderr:
            fail("a second policy for tenant fn-1: exit %d\n%s" % (r.returncode, r.stderr))
    finally:
        stop(agent)
    log("sandbox attached to a running agent, detached after the guest; a conflicting policy refused")


# What `vaccel-shm check` printed: its result lines (digests), where each
# case's input lay, and the methods its calls took (the rpc plugin's trace,
# VACCEL_RPC_TRACE=- on the console).
def shm_check_report(text):
    results = re.findall(r"^((?:torch|minmax) \S+ \d+ bytes: [0-9a-f]{16})\r?$", text, re.M)
    memory = dict(re.findall(r"^memory (.+): (\w+)\r?$", text, re.M))
    methods = set(re.findall(r"^(?:torch_model_run|minmax)\t(\w+)\t", text, re.M))
    return results, memory, methods


SHM_METHODS = {"TorchModelRunShm", "GenopShm"}
COPY_METHODS = {"TorchModelRun", "Genop"}
# With the memory, vAccel's allocations live in it; the program's own
# memory never does.
SHM_MEMORY = {"torch allocated": "sandbox", "torch own": "other", "minmax buffer": "sandbox",
              "minmax malloc": "other"}


SHM_CHECK_ENV = ["-e", "VACCEL_RPC_TRACE=-"]


def shm_check_cmd(seed=1):
    return ["vaccel-shm", "check", "/data/cnn_trace.pt", str(seed)]


def expect_shm_check(r, what, methods, memory):
    if r.returncode != 0:
        fail("%s: vaccel-vm exited with %d\nstdout:\n%s\nstderr:\n%s" % (what, r.returncode, r.stdout, r.stderr))
    results, where, used = shm_check_report(r.stdout)
    if len(results) != 4:
        fail("%s: expected 4 result lines:\n%s" % (what, r.stdout))
    if used != methods:
        fail("%s: the calls took %s, expected %s:\n%s" % (what, sorted(used), sorted(methods), r.stdout))
    if where != memory:
        fail("%s: inputs lay in %s, expected %s" % (what, where, memory))
    return results


def scenario_sandbox_memory(workdir):
    """The same guest program with the sandbox memory (vaccel-vm's default)
    and without it (--no-shm): the same bytes come back, by offset the
    first time and through the transport the second."""
    def run(extra):
        cmd = launcher_cmd(workdir, ARGS.transport, shm_check_cmd(), SHM_CHECK_ENV + extra)
        t0 = time.time()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
        log("vaccel-vm %s: %.1f s" % (" ".join(extra) or "(sandbox memory)", time.time() - t0))
        return r

    with_memory = expect_shm_check(run([]), "with sandbox memory", SHM_METHODS, SHM_MEMORY)
    without = expect_shm_check(run(["--no-shm"]), "without sandbox memory", COPY_METHODS,
                               {k: "other" for k in SHM_MEMORY})
    if with_memory != without:
        fail("the results differ:\nwith:    %s\nwithout: %s" % (with_memory, without))
    log("byte-exact round trips by offset (sandbox memory) and by copy (none), the same results")


def scenario_sandbox_memory_attach(workdir):
    """Two guests at once, each attached to one running agent (isolated
    tenants) with its own sandbox memory and its own bytes: each gets back
    exactly its own, by offset."""
    admin = "unix://" + os.path.join(workdir, "admin.sock")
    agent, _ = start_agent(workdir, "unix://" + os.path.join(workdir, "agent.sock"),
                           ["--admin-socket", admin, "--isolate-tenants"])
    try:
        policy = os.path.join(workdir, "tenant.toml")
        with open(policy, "w") as f:
            f.write('ops = ["all"]\n')
        procs = []
        for i, name in enumerate(("fn-a", "fn-b")):
            cmd = [ARGS.launcher, "-k", os.path.join(ARGS.image, "vmlinuz"), "-i",
                   os.path.join(ARGS.image, "initrd.img"), "-t", ARGS.transport, "--workdir",
                   os.path.join(workdir, "sandbox-" + name), "--timeout", "240", "--attach", admin,
                   "--tenant", name, "--policy", policy] + SHM_CHECK_ENV + ["--"] + shm_check_cmd(10 + i)
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        t0 = time.time()
        runs = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            runs.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        log("two guests at once: %.1f s" % (time.time() - t0))
        results = [expect_shm_check(r, "guest %d" % i, SHM_METHODS, SHM_MEMORY) for i, r in enumerate(runs)]
        if results[0] == results[1]:
            fail("the two guests got the same bytes back, though each sent its own")
        out = open(os.path.join(workdir, "agent.out")).read()
        if out.count("memory of 67108864 bytes") != 2:
            fail("expected two attaches with sandbox memory in the agent log:\n" + out)
        if agent.poll() is not None:
            fail("the agent ended")
    finally:
        stop(agent)
    log("two concurrent guests, each with its own sandbox memory, each got its own bytes back")


def scenario_crash(workdir):
    r = subprocess.run(launcher_cmd(workdir, "virtio-serial",
                                    ["sh", "-c", "echo 1 > /proc/sys/kernel/sysrq; echo c > /proc/sysrq-trigger"]),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    if r.returncode != 123:
        fail("a guest panic gave exit status %d, expected 123\n%s\n%s" % (r.returncode, r.stdout, r.stderr))
    if "Kernel panic" not in r.stdout or "without reporting an exit status" not in r.stderr:
        fail("expected the panic on stdout and the reason on stderr\n%s\n%s" % (r.stdout, r.stderr))
    wait_gone(os.path.join(workdir, "sandbox"), 5)
    log("guest panic: exit status 123, agent stopped")


def start_waiting_guest(workdir):
    proc = subprocess.Popen(launcher_cmd(workdir, "virtio-serial", ["sh", "-c", "echo READY; sleep 600"]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    read_until(proc, "READY", 120)
    sandbox = os.path.join(workdir, "sandbox")
    procs = [(p, c) for p, c in processes_mentioning(sandbox) if not c.startswith(ARGS.launcher + " ")]
    kinds = sorted({"qemu" if "qemu-system" in c else "agent" if "vaccel-agent" in c else "other"
                    for _, c in procs})
    if kinds != ["agent", "qemu"]:
        proc.kill()
        fail("expected an agent and QEMU for the sandbox, found %s" % procs)
    return proc, sandbox, procs


def scenario_kill_vmm(workdir):
    proc, sandbox, procs = start_waiting_guest(workdir)
    qemu = [p for p, c in procs if "qemu-system" in c][0]
    os.kill(qemu, signal.SIGKILL)
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("vaccel-vm did not notice that QEMU was killed")
    if rc != 123:
        fail("QEMU killed: exit status %d, expected 123; stderr:\n%s" % (rc, proc.stderr.read().decode()))
    wait_gone(sandbox, 5)
    log("QEMU killed: exit status 123, agent stopped")


def scenario_sigterm(workdir):
    proc, sandbox, _ = start_waiting_guest(workdir)
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("vaccel-vm did not stop on SIGTERM")
    if rc != 128 + signal.SIGTERM:
        fail("SIGTERM: exit status %d, expected %d" % (rc, 128 + signal.SIGTERM))
    wait_gone(sandbox, 5)
    log("SIGTERM: exit status 143, QEMU and agent stopped")


def scenario_sigkill(workdir):
    proc, sandbox, _ = start_waiting_guest(workdir)
    proc.kill()
    proc.wait()
    # PR_SET_PDEATHSIG: the kernel kills both children.
    wait_gone(sandbox, 10)
    log("SIGKILL: QEMU and agent died with vaccel-vm")


def elf_is_static(path):
    """True if the ELF file has neither an interpreter nor a dynamic section."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        fail("%s is not a 64-bit ELF file" % path)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = [struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum)]
    PT_DYNAMIC, PT_INTERP = 2, 3
    return PT_DYNAMIC not in types and PT_INTERP not in types


def scenario_static(workdir):
    """The guest programs are static and need neither dlopen nor libcurl."""
    progs = sorted(os.listdir(ARGS.guest_bin))
    dynamic = [p for p in progs if not elf_is_static(os.path.join(ARGS.guest_bin, p))]
    if dynamic or "classify" not in progs or "vaccel-lat" not in progs:
        fail("not static: %s (programs: %s)" % (dynamic, progs))
    agent, address = start_agent(workdir, "unix://" + os.path.join(workdir, "agent.sock"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
        env["VACCEL_RPC_ADDRESS"] = address
        # A plugin list is ignored with a reason: nothing is loaded at run
        # time, the linked-in rpc plugin does the work.
        env["VACCEL_PLUGINS"] = os.path.join(ARGS.lib_dir, "libvaccel-noop.so")
        r = subprocess.run([os.path.join(ARGS.guest_bin, "exec_generic"), ARGS.mytestlib, "1"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode != 0 or "output: 20" not in r.stdout or \
                "dynamic loading is not available" not in r.stderr:
            fail("static exec_generic with VACCEL_PLUGINS set: rc %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
        del env["VACCEL_PLUGINS"]
        # URL resources need libcurl, which the guest build leaves out.
        r = subprocess.run([os.path.join(ARGS.guest_bin, "classify"), os.path.join(ARGS.data_dir, "example.jpg"),
                            "1", "http://127.0.0.1:9/model.pt"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if r.returncode == 0 or "no URL download support" not in r.stderr:
            fail("a URL resource in the static build: rc %d\n%s" % (r.returncode, r.stderr))
    finally:
        stop(agent)
    log("%d static programs; VACCEL_PLUGINS and URL resources refused with a reason" % len(progs))


def scenario_cli(workdir):
    def run(args, rc=0):
        r = subprocess.run([ARGS.launcher] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        if r.returncode != rc:
            fail("vaccel-vm %s: exit status %d, expected %d\n%s%s" % (args, r.returncode, rc, r.stdout, r.stderr))
        return r

    kernel = os.path.join(ARGS.image, "vmlinuz")
    # vsock: the device and the agent's AF_VSOCK listener.
    out = run(["--dry-run", "-k", kernel, "-p", "noop", "-t", "vsock", "--cid", "9", "--vsock-port", "5000",
               "--", "true"]).stdout
    for want in ["'vhost-vsock-pci,guest-cid=9'", "'vsock://any:5000'", "VACCEL_PLUGINS='noop'",
                 "VACCEL_RPC_ADDRESS=vsock://2:5000"]:
        if want not in out:
            fail("dry run (vsock) lacks %s:\n%s" % (want, out))
    # Firecracker: the configuration is JSON with the hybrid vsock device.
    import json
    out = run(["--dry-run", "--vmm", "firecracker", "-k", kernel, "-r", "/x/rootfs.ext4", "-p", "noop",
               "--workdir", "/w", "--", "true"]).stdout
    agent_line, vmm_line, config = out.split("\n", 2)
    cfg = json.loads(config)
    if cfg["vsock"]["uds_path"] != "/w/vsock.sock" or "'hvsock:///w/vsock.sock:2048'" not in agent_line:
        fail("firecracker vsock wiring:\n" + out)
    if cfg["drives"][0]["path_on_host"] != "/x/rootfs.ext4" or "--config-file" not in vmm_line:
        fail("firecracker drives/argv:\n" + out)
    # The sandbox memory: on by default with QEMU, handed to the agent and
    # to QEMU; off with --no-shm; a BAR's size; none with Firecracker.
    out = run(["--dry-run", "-k", kernel, "-p", "noop", "--", "true"]).stdout
    for want in ["'--sandbox-memory-fd' '3'", "'ivshmem-plain,memdev=vaccel-shm'",
                 "mem-path=/proc/self/fd/3,size=67108864"]:
        if want not in out:
            fail("dry run (sandbox memory) lacks %s:\n%s" % (want, out))
    out = run(["--dry-run", "-k", kernel, "-p", "noop", "--no-shm", "--", "true"]).stdout
    if "ivshmem-plain" in out or "--sandbox-memory-fd" in out:
        fail("--no-shm still wires the sandbox memory:\n" + out)
    for bad, why in ((["--shm-size", "3M"], "power of two"), (["--shm-size", "64M", "--no-shm"], "exclude"),
                     (["--vmm", "firecracker", "--shm-size", "64M"], "no ivshmem")):
        r = run(["--dry-run", "-k", kernel, "-p", "noop"] + bad + ["--", "true"], rc=2)
        if why not in r.stderr:
            fail("%s: expected '%s' in the reason:\n%s" % (bad, why, r.stderr))
    # Refused combinations and a missing agent.
    for bad in (["--vmm", "firecracker", "-t", "virtio-serial"], ["-t", "hvsock"], ["-t", "carrier-pigeon"],
                ["-e", "1X=2"], ["--accel", "hax"]):
        r = run(["--dry-run", "-k", kernel, "-p", "noop"] + bad + ["--", "true"], rc=2)
        if "vaccel-vm:" not in r.stderr:
            fail("no reason given for %s" % bad)
    r = run(["-k", kernel, "-i", os.path.join(ARGS.image, "initrd.img"), "-p", "noop", "--agent", "/bin/false",
             "--workdir", os.path.join(workdir, "sb"), "--", "true"], rc=125)
    if "the agent did not start" not in r.stderr:
        fail("agent failure not reported:\n" + r.stderr)
    log("dry runs and refused options behave")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("scenario")
    p.add_argument("--transport", default="virtio-serial")
    p.add_argument("--image", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--launcher")
    p.add_argument("--run-vm")
    p.add_argument("--runner")
    p.add_argument("--lib-dir")
    p.add_argument("--native-bin")
    p.add_argument("--guest-bin")
    p.add_argument("--data-dir")
    p.add_argument("--mytestlib")
    p.add_argument("--models-dir")
    # The examples exec mytestlib through the agent: a policy that allows it.
    p.add_argument("--policy")
    p.add_argument("--native", choices=["local", "agent"], default="local")
    p.add_argument("--plugins", default="exec,noop")
    p.add_argument("--cases", default="noop,exec")
    ARGS = p.parse_args()
    # The native data directory links to these: relative paths would dangle.
    for name in ("data_dir", "models_dir", "mytestlib", "lib_dir", "policy"):
        if getattr(ARGS, name):
            setattr(ARGS, name, os.path.abspath(getattr(ARGS, name)))
    scenarios = {
        "examples-raw": scenario_examples_raw,
        "examples-vm": scenario_examples_vm,
        "examples-attach": scenario_examples_attach,
        "backends": scenario_backends,
        "crash": scenario_crash,
        "kill-vmm": scenario_kill_vmm,
        "sigterm": scenario_sigterm,
        "sigkill": scenario_sigkill,
        "cli": scenario_cli,
        "sandbox-memory": scenario_sandbox_memory,
        "sandbox-memory-attach": scenario_sandbox_memory_attach,
        "static": scenario_static,
    }
    workdir = tempfile.mkdtemp(prefix="vaccel-vmtest-")
    try:
        scenarios[ARGS.scenario](workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
