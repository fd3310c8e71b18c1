#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cold start: from a new sandbox to its first accelerated result (issue 20).

Starts N sandboxes one after another, each running the same function
(bench/coldstart/coldstart_client.c: a session, the model registered, the
first result, then five warm calls), and reports per sandbox when each phase ended,
counted from the sandbox's launch. Every call prepares its own input, as a
function handling a request does: classify decodes its image, and in --mode
run each call copies the request's payload (made before the function
starts) into its input tensor before running (the first one into the
tensor it just allocated through vAccel):

  vm          QEMU guest (TCG) through vaccel-vm, a fresh agent per sandbox
  vm-attach   QEMU guest through vaccel-vm --attach to an agent started ahead
  proc        a host process (the container case), a fresh agent per process
  proc-attach a host process attached to an agent started ahead
              (bench/coldstart/coldstart_attach.cpp: Launcher.Attach)

and the same-run baselines: the function natively in libtorch without vAccel
(coldstart-native), a trivial process that opens a listening unix socket,
and a raw unix connect plus one round trip (coldstart-baseline). The goals
of issue 20 are printed as measured ratios with pass or fail; nothing is
asserted about time. Every result must equal the native one (exit status 1
otherwise).

  scripts/bench_coldstart.py                     # all cases, N=5
  scripts/bench_coldstart.py -n 3 --cases proc,proc-attach
  scripts/bench_coldstart.py --smoke             # ctest: N=1, processes only
  scripts/bench_coldstart.py --digest-index      # models named by a precomputed digest
  # The GPU machine (scripts/device-test.sh, step "cold start"): ResNet-18
  scripts/bench_coldstart.py --mode run --model resnet18.pt --shape 3x224x224 \\
      --cases proc,proc-attach --agent ... --client ... --native ...

Host processes print CLOCK_MONOTONIC (Python's time.monotonic()); guest lines
are timestamped here as they arrive on the console. Loopback and unix
sockets only.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASE = re.compile(r"phase (\w+) (\d+)(?: (.*))?$")
# Phases in the order they end; "agent"/"plugins" are the fresh agent's.
COLUMNS = ["attached", "agent", "plugins", "ready", "session", "registered", "loaded", "input", "first"]
CASES = ["proc", "proc-attach", "vm", "vm-attach"]
TENANT = "fn-coldstart"


class Failure(Exception):
    pass


def now_us():
    return time.monotonic_ns() // 1000


def say(text=""):
    print(text, flush=True)


class Watched:
    """A child process whose output lines are kept with their arrival time."""

    def __init__(self, argv, env=None, stdin=False):
        self.argv = argv
        self.launched = now_us()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     env=env, text=True, bufsize=1)
        self.lines = []  # (arrival us, stream, text)
        self.cv = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(s, n), daemon=True)
                        for s, n in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for r in self.readers:
            r.start()

    def _read(self, stream, name):
        for line in stream:
            with self.cv:
                self.lines.append((now_us(), name, line.rstrip("\n")))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_line(self, pattern, timeout):
        """(arrival, match) of the first line matching @pattern."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while True:
                for t, _, text in self.lines:
                    m = rx.search(text)
                    if m:
                        return t, m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not any(r.is_alive() for r in self.readers)):
                    raise Failure("%s: no line like %r in %.0f s:\n%s" % (
                        os.path.basename(self.argv[0]), pattern, timeout, self.text()[-3000:]))
                self.cv.wait(min(left, 0.2))

    def finish(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("%s ran over %.0f s:\n%s" % (os.path.basename(self.argv[0]), timeout,
                                                        self.text()[-3000:]))
        for r in self.readers:
            r.join(5)
        return rc

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for r in self.readers:
            r.join(5)

    def text(self):
        with self.cv:
            return "\n".join(t for _, _, t in self.lines)


def phases(w, own_clock):
    """The client's phases: {name: (us, rest)}; host processes' own clock, or
    arrival times (guests)."""
    out = {}
    for t, _, text in list(w.lines):
        m = PHASE.search(text)
        if m and m.group(1) not in out:
            out[m.group(1)] = (int(m.group(2)) if own_clock else t, m.group(3) or "")
    return out


# ---- the function's inputs ---------------------------------------------------

def model_dir(work):
    """The Fashion-MNIST model directory as main_job.py lays it out."""
    d = os.path.join(work, "model")
    os.makedirs(d, exist_ok=True)
    for src, name in (("fashion_mnist.pt", "fashion_mnist.pt"), ("fashion_mnist_labels.txt", "labels.txt"),
                      ("fashion_mnist_torch.cfg", "model.cfg")):
        shutil.copy(os.path.join(ROOT, "models", src), os.path.join(d, name))
    return d


def function_args(args, model):
    if args.mode == "run":
        return ["run", model, args.shape]
    return ["classify", model, args.image]


def native_args(args):
    if args.mode == "run":
        return ["run", args.model, args.shape]
    m = os.path.join(ROOT, "models")
    return ["classify", os.path.join(m, "fashion_mnist.pt"), os.path.join(m, "fashion_mnist_labels.txt"),
            os.path.join(m, "fashion_mnist_torch.cfg"), args.image]


def policy_file(args, work):
    path = os.path.join(work, "policy.toml")
    with open(path, "w") as f:
        if args.no_model_cache:
            f.write("[agent]\nmodel_cache_bytes = 0\n")
        f.write('[default]\nops = ["image", "torch"]\n')
    return path


def tenant_policy(work):
    path = os.path.join(work, "tenant.toml")
    with open(path, "w") as f:
        f.write('ops = ["image", "torch"]\n')
    return path


def base_env(args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
    if args.device:
        env["VACCEL_TORCH_DEVICE"] = args.device
    return env


# ---- agents -----------------------------------------------------------------

def start_agent(args, work, sock, extra=()):
    env = base_env(args)
    env["VACCEL_PLUGINS"] = args.torch_plugin
    env["VACCEL_LOG_LEVEL"] = str(max(3, args.agent_log_level))  # its "plugins loaded" line
    return Watched([args.agent, "-a", "unix://" + sock, "--policy", policy_file(args, work),
                    "--audit-log", os.path.join(work, "audit.log")] + list(extra) + args.agent_arg, env)


def plugins_loaded(args, agent, t_listen, timeout):
    """When a fresh agent's plugins were loaded: its log line, or its
    listening for agents that load them first (--agent-loads-first)."""
    if args.agent_loads_first:
        return t_listen
    return agent.wait_line(r"agent: plugins loaded", timeout)[0]


def agent_times(args, agent, t0):
    """Start to listening, and to plugins loaded, of a fresh agent."""
    t_listen, _ = agent.wait_line(r"listening on ", args.timeout)
    return {"agent": t_listen - t0, "plugins": plugins_loaded(args, agent, t_listen, args.timeout) - t0}


def client_env(args, address):
    env = base_env(args)
    env["VACCEL_PLUGINS"] = args.rpc_plugin
    env["VACCEL_RPC_ADDRESS"] = address
    if args.no_connect_early:
        env["VACCEL_RPC_CONNECT_EARLY"] = "0"
    if args.index_path:
        env["VACCEL_RPC_MODEL_DIGESTS"] = args.index_path
    for kv in args.client_env:
        k, _, v = kv.partition("=")
        env[k] = v
    if args.client_trace:
        os.makedirs(args.client_trace, exist_ok=True)
        env["VACCEL_RPC_TRACE"] = os.path.join(args.client_trace, "client-%d.tsv" % len(os.listdir(args.client_trace)))
    return env


def python_digest_index(model, path):
    """The index `vaccel digest --index` writes (src/transport/digest_index.h),
    computed here where the vaccel CLI is not at hand (the GPU machine's kit
    leaves it out: its image decoding pulls in OpenCV). A wrong entry only
    makes every sandbox miss and upload, which the run shows."""
    import hashlib
    files = [model] if os.path.isfile(model) else sorted(
        os.path.join(model, n) for n in os.listdir(model) if os.path.isfile(os.path.join(model, n)))
    h = hashlib.sha256()
    lines = []
    for f in files:
        name = os.path.basename(f).encode()
        with open(f, "rb") as fh:
            data = fh.read()
        h.update(len(name).to_bytes(8, "little") + name + len(data).to_bytes(8, "little") + data)
        st = os.stat(f)
        lines.append("%d %d.%09d %s" % (st.st_size, st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9,
                                       os.path.realpath(f)))
    with open(path, "w") as out:
        out.write("vaccel-digests 1\n%s %d\n%s\n" % (h.hexdigest(), len(files), "\n".join(lines)))
    return h.hexdigest()


def digest_index(args, work, model):
    """The model's digest computed ahead, as a function's image build would
    (vaccel digest --index): sandboxes name the model without reading it."""
    path = os.path.join(work, "models.digests")
    if not os.path.exists(args.vaccel_cli):
        say("model digest index (computed here, %s not found): %s" % (
            args.vaccel_cli, python_digest_index(model, path)))
        return path
    p = subprocess.run([args.vaccel_cli, "digest", "--index", path, model], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    if p.returncode != 0:
        raise Failure("vaccel digest exited with %d:\n%s" % (p.returncode, p.stdout))
    say("model digest index: %s" % p.stdout.split()[0])
    return path


def run_client(args, argv, env, t0, own_clock=True):
    """One function run; its phases relative to @t0 (us), its results."""
    c = Watched(argv, env)
    rc = c.finish(args.timeout)
    if rc != 0:
        raise Failure("%s exited with %d:\n%s" % (" ".join(argv[:2]), rc, c.text()[-3000:]))
    return relative(phases(c, own_clock), t0, c)


def relative(ph, t0, w):
    need = ["start", "first", "warm"]
    if any(n not in ph for n in need):
        raise Failure("missing phases (%s) in:\n%s" % (", ".join(n for n in need if n not in ph),
                                                       w.text()[-3000:]))
    row = {("ready" if n == "start" else n): t - t0 for n, (t, _) in ph.items() if n != "warm"}
    row["t0"] = t0
    row["warm_end"] = ph["warm"][0] - t0
    warm_rest = ph["warm"][1].rsplit(" ", 1)
    row["warm_us"] = int(warm_rest[1])
    row["results"] = [ph["first"][1], warm_rest[0]]
    return row


# ---- the cases --------------------------------------------------------------

def case_native(args, work):
    env = base_env(args)
    return run_client(args, [args.native] + native_args(args), env, now_us())


def idle_before_first(rows):
    """Median us between one attached sandbox's last warm call and the next
    sandbox's first run (its input ready; in classify mode, its model
    registered): how long the backend ran nothing before each first result
    (the agent answered the sandbox's session and registration calls
    meanwhile), 0 with fewer than two sandboxes."""
    gaps = [(r["t0"] + r.get("input", r["registered"])) - (p["t0"] + p["warm_end"])
            for p, r in zip(rows, rows[1:])]
    return statistics.median(gaps) if gaps else 0


def native_after_launch(args, rounds, idle_us=0):
    """A warm native process's call after it idled @p idle_us (at least
    the time a sandbox-like process takes to launch: the client binary,
    run to its usage error, the same libraries loaded), and right after
    that call: median us of each. A backend's first call after an idle
    period costs more than back to back (caches, threads asleep), natively
    too; this is the yardstick for the attached sandboxes' first runs."""
    env = base_env(args)
    env["COLDSTART_NATIVE_SERVE"] = "1"
    native = Watched([args.native] + native_args(args), env, stdin=True)
    after, warm = [], []
    try:
        native.wait_line(r"^phase warm ", args.timeout)

        def call():
            seen = len([1 for _, _, t in list(native.lines) if t.startswith("served ")])
            native.proc.stdin.write("call\n")
            native.proc.stdin.flush()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                served = [t for _, _, t in list(native.lines) if t.startswith("served ")]
                if len(served) > seen:
                    return int(served[seen].split()[1])
                time.sleep(0.0005)
            raise Failure("coldstart-native served no call in %.0f s" % args.timeout)
        for _ in range(rounds):
            idle_from = time.monotonic()
            subprocess.run([args.client], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=base_env(args), timeout=args.timeout)
            time.sleep(max(0.0, idle_from + idle_us / 1e6 - time.monotonic()))
            after.append(call())
            warm.append(call())
    finally:
        native.proc.stdin.close()
        native.finish(args.timeout)
    return {"after": statistics.median(after), "warm": statistics.median(warm), "idle_us": idle_us}


def case_proc(args, work, model, i):
    sock = os.path.join(work, "agent-%d.sock" % i)
    t0 = now_us()
    agent = start_agent(args, work, sock)
    try:
        t_listen = agent.wait_line(r"listening on ", args.timeout)[0]
        # A launcher starts the sandbox once the agent listens.
        row = run_client(args, [args.client] + function_args(args, model), client_env(args, "unix://" + sock),
                         t0)
        row.update({"agent": t_listen - t0, "plugins": plugins_loaded(args, agent, t_listen, args.timeout) - t0})
        return row
    finally:
        agent.stop()


def shared_agent(args, work):
    """An agent started ahead, with an admin socket, its plugins loaded."""
    sock = os.path.join(work, "shared.sock")
    admin = os.path.join(work, "admin.sock")
    t0 = now_us()
    agent = start_agent(args, work, sock, ["--admin-socket", "unix://" + admin])
    try:
        ready = agent_times(args, agent, t0)
    except Failure:
        agent.stop()
        raise
    return agent, "unix://" + admin, ready


def attach(args, admin, sock, work):
    """Launcher.Attach of a new sandbox's socket: the tool and the call's
    (start, end)."""
    tool = Watched([args.attach_tool, admin, "unix://" + sock, TENANT, tenant_policy(work)], stdin=True)
    _, series = tool.wait_line(r"phase attach-series (\d+) (\d+) (\d+)", args.timeout)
    _, m = tool.wait_line(r"phase attach (\d+) (\d+) \d+ \d+ (\d+)", args.timeout)
    return tool, int(m.group(1)), int(m.group(2)), int(m.group(3)), int(series.group(1))


def detach(tool):
    tool.proc.stdin.close()
    if tool.finish(30) != 0:
        raise Failure("coldstart-attach failed:\n" + tool.text())


def case_proc_attach(args, work, model, i, admin):
    sock = os.path.join(work, "sandbox-%d.sock" % i)
    tool, t0, t1, bind_us, series_us = attach(args, admin, sock, work)
    try:
        row = run_client(args, [args.client] + function_args(args, model), client_env(args, "unix://" + sock),
                         t0)
        row["attached"] = t1 - t0
        row["bind_us"] = bind_us
        row["attach_series_us"] = series_us
        return row
    finally:
        detach(tool)


def guest_image(args, work):
    out = os.path.join(work, "guest")
    files = ["--file", args.guest_client + ":/usr/bin/coldstart-client",
             "--file", args.image + ":/data/" + os.path.basename(args.image)]
    for name, dest in (("fashion_mnist.pt", "fashion_mnist.pt"), ("fashion_mnist_labels.txt", "labels.txt"),
                       ("fashion_mnist_torch.cfg", "model.cfg")):
        files += ["--file", "%s:/data/model/%s" % (os.path.join(ROOT, "models", name), dest)]
    p = subprocess.run([os.path.join(ROOT, "guest", "build-initramfs.sh"), "--out", out, "--cache",
                        args.guest_cache] + files, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=600)
    if p.returncode != 0:
        raise Failure("guest image: build-initramfs.sh exited with %d:\n%s" % (p.returncode, p.stdout[-3000:]))
    return out


def vm_argv(args, image, work, extra):
    return ([args.vaccel_vm, "-v", "-k", os.path.join(image, "vmlinuz"), "-i", os.path.join(image, "initrd.img"),
             "--agent", args.agent, "--timeout", str(int(args.timeout))] + extra +
            ["--", "/usr/bin/coldstart-client", "classify", "/data/model", "/data/" + os.path.basename(args.image)])


def run_vm(args, argv, env):
    """One guest; its phases from vaccel-vm's launch, by arrival time."""
    vm = Watched(argv, env)
    t0 = vm.launched
    rc = vm.finish(args.timeout + 30)
    if rc != 0:
        raise Failure("vaccel-vm exited with %d:\n%s" % (rc, vm.text()[-3000:]))
    row = relative(phases(vm, own_clock=False), t0, vm)
    return row, vm, t0


def case_vm(args, work, image, i):
    env = base_env(args)
    env["VACCEL_LOG_LEVEL"] = "3"
    argv = vm_argv(args, image, work, ["-p", args.torch_plugin, "--agent-arg=--policy=" + policy_file(args, work),
                                       "--workdir", os.path.join(work, "vm-%d" % i)])
    row, vm, t0 = run_vm(args, argv, env)
    # vaccel-vm starts the VMM once its agent listens, and says so (-v).
    row["agent"] = vm.wait_line(r"^vaccel-vm: vmm: ", 1)[0] - t0
    return row


def case_vm_attach(args, work, image, i, admin):
    argv = vm_argv(args, image, work, ["--attach", admin, "--tenant", TENANT, "--policy", tenant_policy(work),
                                       "--workdir", os.path.join(work, "vma-%d" % i)])
    row, vm, t0 = run_vm(args, argv, base_env(args))
    row["attached"] = vm.wait_line(r"^vaccel-vm: attached to ", 1)[0] - t0
    return row


# ---- the yardsticks ---------------------------------------------------------

def trivial_listener(args, work, i):
    sock = os.path.join(work, "trivial-%d.sock" % i)
    w = Watched([args.baseline, "listen", sock], stdin=True)
    t, _ = w.wait_line(r"^listening$", 30)
    w.proc.stdin.close()
    w.finish(30)
    return t - w.launched


def raw_rtt(args, work):
    p = subprocess.run([args.baseline, "rtt", os.path.join(work, "rtt.sock"), "200"], stdout=subprocess.PIPE,
                       text=True, timeout=60, check=True)
    return float(p.stdout.split()[1])


def agent_alone(args, work, i):
    """A fresh agent's start to listening and to plugins loaded, no client."""
    agent = start_agent(args, work, os.path.join(work, "alone-%d.sock" % i))
    try:
        return agent_times(args, agent, agent.launched)
    finally:
        agent.stop()


# ---- report -----------------------------------------------------------------

def ms(us):
    return "" if us is None else "%.1f" % (us / 1000.0)


def print_rows(name, rows):
    say("\n%s (ms from the sandbox's launch; warm: the median of 5 calls after the first)" % name)
    cols = [c for c in COLUMNS if any(c in r for r in rows)]
    say("  %-8s" % "sandbox" + "".join("%11s" % c for c in cols) + "%10s  result" % "warm ms")
    for i, r in enumerate(rows):
        say("  %-8s" % (i + 1) + "".join("%11s" % ms(r.get(c)) for c in cols) +
            "%10s  %s" % (ms(r["warm_us"]), r["results"][0]))
    say("  %-8s" % "median" + "".join("%11s" % ms(median(rows, c)) for c in cols) +
        "%10s" % ms(median(rows, "warm_us")))


def median(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def goal(text, value, limit, note=""):
    if value is None:
        say("  %-72s  not measured %s" % (text, note))
        return
    verdict = "pass" if value <= limit else "FAIL"
    say("  %-72s %7.2fx  (goal <= %gx) %s %s" % (text, value, limit, verdict, note))


def report(res, args):
    say("\n== same-run ratios")
    native = res["native"]
    n_first = median(native, "first")
    for case in CASES:
        if case in res:
            say("  %-12s first result %8s ms from launch = %6.1fx the native run's %s ms" % (
                case, ms(median(res[case], "first")), median(res[case], "first") / n_first, ms(n_first)))
    say("  native: warm call %s ms, first result %s ms after main()" % (
        ms(median(native, "warm_us")), ms(n_first - median(native, "ready"))))
    say("\n== goals of issue 20 (measured, not asserted)")
    alone = res.get("agent_alone")
    trivial = res.get("trivial")
    if alone and trivial:
        goal("fresh agent start to ready (listening) vs a trivial listening process",
             median(alone, "agent") / statistics.median(trivial), 3,
             "(%s vs %s ms; plugins loaded at %s ms)" % (ms(median(alone, "agent")), ms(statistics.median(trivial)),
                                                          ms(median(alone, "plugins"))))
    rtt = res.get("rtt")
    for case in ("proc-attach", "vm-attach"):
        if case in res and rtt and case == "proc-attach":
            # Both timed alike: the median of calls in a row.
            goal("attach call (Launcher.Attach, median of a launcher's series) vs a raw unix connect + round trip",
                 median(res[case], "attach_series_us") / rtt, 2,
                 "(%s us vs %.1f us; each sandbox's own attach, after the series: %s us; the launcher's bind "
                 "of the sandbox's socket before it: %s us)" % (
                     "%.0f" % median(res[case], "attach_series_us"), rtt, "%.0f" % median(res[case], "attached"),
                     "%.0f" % median(res[case], "bind_us")))
    for case in ("proc-attach", "vm-attach"):
        if case in res and len(res[case]) > 1:
            # Sandbox 1 uploads the model; the agent's model cache (where it
            # has one) keeps it for the same tenant's later sandboxes.
            rows = res[case][1:]
            first = statistics.median([r["first"] - r["ready"] for r in rows])
            warm = median(rows, "warm_us")
            goal("%s, sandboxes 2..N: first result after the sandbox is up vs a warm call" % case,
                 first / warm, 2, "(%s vs %s ms)" % (ms(first), ms(warm)))
            cold = res.get("native_after_launch")
            if cold and case == "proc-attach":
                # The same, against a warm call that idled as long: the
                # warm call scaled by what idling cost natively.
                idle_warm = warm * cold["after"] / cold["warm"]
                goal("%s, the same vs a warm call after the same idle (native yardstick below)" % case,
                     first / idle_warm, 2, "(%s vs %s ms)" % (ms(first), ms(idle_warm)))
    cold = res.get("native_after_launch")
    if cold:
        waited = ("idling %.1f ms with a sandbox-like launch in it, as long as the attached sandboxes' first "
                  "runs waited," % (cold["idle_us"] / 1000) if cold["idle_us"] > 0 else
                  "right after a sandbox-like launch")
        say("  (natively, with no vAccel: a warm process's call after %s took %.0f us against %.0f us for the "
            "call after it = %.2fx; the first result above includes that)" % (
                waited, cold["after"], cold["warm"], cold["after"] / cold["warm"]))


def check_results(res):
    """Every sandbox's results equal the native run's."""
    want = res["native"][0]["results"][0]
    bad = []
    for case, rows in res.items():
        if isinstance(rows, list) and rows and isinstance(rows[0], dict) and "results" in rows[0]:
            for i, r in enumerate(rows):
                if any(x != want for x in r["results"]):
                    bad.append("%s sandbox %d: %s" % (case, i + 1, r["results"]))
    if bad:
        raise Failure("results differ from the native run's (%s):\n  %s" % (want, "\n  ".join(bad)))
    say("\nAll %d results equal the native run's: %s" % (
        sum(2 * len(v) for v in res.values() if isinstance(v, list) and v and isinstance(v[0], dict)
            and "results" in v[0]), want))


# ---- main -------------------------------------------------------------------

def run_cases(args, work):
    res = {"native": [case_native(args, work) for _ in range(args.n)]}
    # Taken in turns, so that a machine getting busier weighs on both.
    res["trivial"], res["agent_alone"] = [], []
    for i in range(args.n):
        res["trivial"].append(trivial_listener(args, work, i))
        res["agent_alone"].append(agent_alone(args, work, i))
    res["rtt"] = raw_rtt(args, work) if "proc-attach" in args.cases else None
    model = args.model if args.mode == "run" else model_dir(work)
    args.index_path = digest_index(args, work, model) if args.digest_index else None
    if "proc" in args.cases:
        res["proc"] = [case_proc(args, work, model, i) for i in range(args.n)]
    image = guest_image(args, work) if any(c.startswith("vm") for c in args.cases) else None
    if "vm" in args.cases:
        res["vm"] = [case_vm(args, work, image, i) for i in range(args.n)]
    if "proc-attach" in args.cases or "vm-attach" in args.cases:
        agent, admin, ready = shared_agent(args, work)
        try:
            say("agent started ahead: listening after %s ms, plugins loaded after %s ms" % (
                ms(ready["agent"]), ms(ready["plugins"])))
            if "proc-attach" in args.cases:
                res["proc-attach"] = [case_proc_attach(args, work, model, i, admin) for i in range(args.n)]
            if "vm-attach" in args.cases:
                res["vm-attach"] = [case_vm_attach(args, work, image, i, admin) for i in range(args.n)]
        finally:
            agent.stop()
            if args.keep_agent_log:
                with open(args.keep_agent_log, "a") as f:
                    f.write(agent.text() + "\n")
        # After the sandboxes: the native yardstick idles as long as their
        # first runs did (host processes; a guest's boot idles for seconds).
        idle = idle_before_first(res["proc-attach"]) if "proc-attach" in res else 0
        res["native_after_launch"] = native_after_launch(args, max(args.n, 5), min(idle, 1e6))
    return res


def print_all(res, args):
    print_rows("native: coldstart-native, libtorch in process, no vAccel", res["native"])
    say("\ntrivial listening process, start to listening: median %s ms (%s)" % (
        ms(statistics.median(res["trivial"])), ", ".join(ms(t) for t in res["trivial"])))
    if res.get("rtt"):
        say("raw unix connect + 64-byte round trip: median %.1f us (200 runs)" % res["rtt"])
    say("fresh agent alone, start to listening: %s ms; to plugins loaded: %s ms" % (
        ", ".join(ms(r["agent"]) for r in res["agent_alone"]),
        ", ".join(ms(r["plugins"]) for r in res["agent_alone"])))
    titles = {"proc": "proc: host process, fresh agent per process",
              "proc-attach": "proc-attach: host process attached to an agent started ahead "
                             "(launch = the attach call's start)",
              "vm": "vm: QEMU/TCG guest through vaccel-vm, fresh agent per guest",
              "vm-attach": "vm-attach: QEMU/TCG guest through vaccel-vm --attach"}
    for case in CASES:
        if case in res:
            print_rows(titles[case], res[case])


def parse_args():
    b = os.path.join(ROOT, "build", "default")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-n", type=int, default=5, help="sandboxes per case (default 5, at most 20)")
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    p.add_argument("--smoke", action="store_true", help="N=1, processes only: checks results (ctest)")
    p.add_argument("--build", default=b, help="build directory (default build/default)")
    p.add_argument("--mode", choices=["classify", "run"], default="classify")
    p.add_argument("--model", help="run mode: the TorchScript model")
    p.add_argument("--shape", default="3x224x224", help="run mode: the input's CxHxW")
    p.add_argument("--image", default=os.path.join(ROOT, "examples", "data", "fashion", "0000_ankle-boot.png"))
    p.add_argument("--device", help="VACCEL_TORCH_DEVICE for the plugin and the native run")
    for tool, default in (("agent", "bin/vaccel-agent"), ("vaccel-vm", "bin/vaccel-vm"),
                          ("client", "bin/coldstart-client"), ("native", "bin/coldstart-native"),
                          ("baseline", "bin/coldstart-baseline"), ("attach-tool", "bin/coldstart-attach"),
                          ("guest-client", "guest/bin/coldstart-client"), ("guest-cache", "guest/vm/cache"),
                          ("torch-plugin", "lib/libvaccel-torch.so"), ("rpc-plugin", "lib/libvaccel-rpc.so"),
                          ("vaccel-cli", "bin/vaccel")):
        p.add_argument("--" + tool, help="default <build>/" + default)
    p.add_argument("--timeout", type=float, default=120, help="seconds any one step may take")
    p.add_argument("--agent-log-level", type=int, default=3,
                   help="VACCEL_LOG_LEVEL of the agents (at least 3; 4: debug, e.g. the torch plugin's runs)")
    p.add_argument("--keep-agent-log", metavar="FILE",
                   help="append the output of the agent started ahead to FILE when it stops")
    p.add_argument("--client-env", metavar="NAME=VALUE", action="append", default=[],
                   help="a variable for every vAccel client (e.g. VACCEL_RPC_SHM_PREWARM=0 for an A/B); repeatable")
    p.add_argument("--client-trace", metavar="DIR",
                   help="each client writes its rpc plugin's trace (VACCEL_RPC_TRACE) to DIR/client-<k>.tsv")
    p.add_argument("--no-connect-early", action="store_true",
                   help="clients connect at their first session (VACCEL_RPC_CONNECT_EARLY=0), not when the "
                        "rpc plugin loads")
    p.add_argument("--no-model-cache", action="store_true",
                   help="agents keep no models ([agent] model_cache_bytes = 0): every session uploads and loads "
                        "(the cache's comparison)")
    p.add_argument("--agent-arg", action="append", default=[],
                   help="one more argument for every agent the run starts (repeat it for more)")
    p.add_argument("--digest-index", action="store_true",
                   help="sandboxes name the model by a digest computed ahead (vaccel digest --index, "
                        "VACCEL_RPC_MODEL_DIGESTS) instead of reading and hashing it")
    p.add_argument("--agent-loads-first", action="store_true",
                   help="the agent loads its plugins before it listens (agents before the plugin gate, for "
                        "comparisons): its plugins phase is its listening")
    args = p.parse_args()
    for tool, default in (("agent", "bin/vaccel-agent"), ("vaccel_vm", "bin/vaccel-vm"),
                          ("client", "bin/coldstart-client"), ("native", "bin/coldstart-native"),
                          ("baseline", "bin/coldstart-baseline"), ("attach_tool", "bin/coldstart-attach"),
                          ("guest_client", "guest/bin/coldstart-client"), ("guest_cache", "guest/vm/cache"),
                          ("torch_plugin", "lib/libvaccel-torch.so"), ("rpc_plugin", "lib/libvaccel-rpc.so"),
                          ("vaccel_cli", "bin/vaccel")):
        if getattr(args, tool) is None:
            setattr(args, tool, os.path.join(args.build, default))
    if args.smoke:
        args.n, args.cases = 1, "proc,proc-attach"
    args.cases = [c for c in args.cases.split(",") if c]
    if not 1 <= args.n <= 20 or any(c not in CASES for c in args.cases):
        p.error("-n is 1..20 and --cases a subset of " + ",".join(CASES))
    if args.mode == "run" and (not args.model or any(c.startswith("vm") for c in args.cases)):
        p.error("--mode run needs --model and runs processes only")
    return args


def main():
    args = parse_args()
    started = time.monotonic()
    say("cold start: %s, N=%d, cases %s, mode %s" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), args.n,
                                                       ",".join(args.cases), args.mode))
    work = tempfile.mkdtemp(prefix="vaccel-coldstart-")
    try:
        res = run_cases(args, work)
        print_all(res, args)
        report(res, args)
        check_results(res)
    except Failure as e:
        say("FAILED: %s" % e)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say("(%.0f s in all)" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
