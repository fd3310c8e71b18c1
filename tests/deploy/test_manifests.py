# SPDX-License-Identifier: Apache-2.0
"""The deployment manifests, parsed and cross-checked: Kubernetes (agent as a
DaemonSet on a host socket; a pool of agents on their pod IPs with mutual
TLS behind a headless Service, NetworkPolicies, a PodMonitor; agent as a
sidecar sharing a unix socket),
Knative, the OpenFaaS stack file, and the Dockerfiles that build the images
they name. Nothing here needs a cluster or a Docker engine: the checks are
about the wiring (labels and selectors, ports, socket paths, addresses,
image names, file references), which is what breaks silently.

Run by ctest (test_deploy_manifests) with DEPLOY_DIR and PROJECT_DIR set."""
import fnmatch
import os
import re
import shlex
import unittest

import yaml

DEPLOY = os.environ["DEPLOY_DIR"]
PROJECT = os.environ["PROJECT_DIR"]


def load_all(*path):
    with open(os.path.join(DEPLOY, *path)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load(*path):
    docs = load_all(*path)
    assert len(docs) == 1, f"{path}: expected one document"
    return docs[0]


def find(docs, kind, name=None):
    found = [d for d in docs if d["kind"] == kind
             and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def env_of(container):
    return {e["name"]: e["value"] for e in container.get("env", [])
            if "value" in e}


def arg_after(args, flag):
    """The value of `flag VALUE` or `flag=VALUE` in a container's args."""
    for i, a in enumerate(args):
        if a == flag:
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    raise AssertionError(f"{flag} not in {args}")


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pod_containers(pod_spec):
    """Every container of a pod, init containers included."""
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def container(pod_spec, name):
    found = [c for c in pod_containers(pod_spec) if c["name"] == name]
    assert len(found) == 1, f"no container {name}"
    return found[0]



def port_number(container_, port):
    """A Service targetPort or probe port (number or name) as a number."""
    if isinstance(port, int):
        return port
    for p in container_.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {container_['name']} has no port {port}")


def parse_address(address):
    m = re.fullmatch(r"(unix|tcp)://(.+)", address)
    assert m, f"unexpected address {address}"
    return m.group(1), m.group(2)


def host_port(rest):
    host, _, port = rest.rpartition(":")
    return host, int(port)


def volume_path(container_, path):
    """(volume, path inside it) of a file path in a container's mounts."""
    best = None
    for m in container_.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path.startswith(mp + "/") and (best is None or len(mp) > len(best[0])):
            best = (mp, m["name"])
    assert best, f"{path} is on no volume of container {container_['name']}"
    return best[1], os.path.relpath(path, best[0])


def check_pod_volumes(test, pod_spec):
    volumes = {v["name"] for v in pod_spec.get("volumes", [])}
    for c in pod_containers(pod_spec):
        for m in c.get("volumeMounts", []):
            test.assertIn(m["name"], volumes, f"{c['name']} mounts {m['name']}")


def effective_security(pod_spec, c):
    """A container's securityContext with what it leaves unset taken from
    the pod's (the fields both levels have)."""
    pod_sc = pod_spec.get("securityContext", {})
    sc = dict(c.get("securityContext", {}))
    for key in ("runAsNonRoot", "runAsUser", "runAsGroup", "seccompProfile"):
        if key not in sc and key in pod_sc:
            sc[key] = pod_sc[key]
    return sc


def check_hardened(test, c, pod_spec=None, read_only=True):
    """Unprivileged (non-root uid and gid, no privilege escalation, no
    capabilities, the runtime's seccomp profile), and with read_only, a
    read-only root filesystem with a writable /tmp."""
    sc = effective_security(pod_spec or {}, c)
    name = c.get("name", "container")
    test.assertIs(sc.get("allowPrivilegeEscalation"), False, name)
    test.assertEqual(sc.get("capabilities", {}).get("drop"), ["ALL"], name)
    test.assertFalse(sc.get("capabilities", {}).get("add"), name)
    test.assertIsNot(sc.get("privileged"), True, name)
    test.assertIs(sc.get("runAsNonRoot"), True, name)
    test.assertEqual(sc.get("seccompProfile"), {"type": "RuntimeDefault"}, name)
    if read_only:
        for key in ("runAsUser", "runAsGroup"):
            test.assertIsInstance(sc.get(key), int, f"{name}: {key}")
            test.assertGreater(sc[key], 0, f"{name}: {key}")
        test.assertIs(sc.get("readOnlyRootFilesystem"), True, name)
        # libvaccel's run directory must stay writable.
        test.assertIn("/tmp", [m["mountPath"] for m in c.get("volumeMounts", [])],
                      name)


def check_draining(test, pod_spec, c):
    """SIGTERM drains the agent for --drain-grace seconds: the pod's
    termination grace must outlast it, and the preStop hook must start the
    drain (SIGTERM to the agent, PID 1) and wait for the agent to exit, so
    that the kubelet's own SIGTERM (a second one, which stops the agent at
    once) never comes first."""
    grace = int(arg_after(c["args"], "--drain-grace"))
    test.assertGreater(grace, 0)
    test.assertGreaterEqual(pod_spec["terminationGracePeriodSeconds"], grace + 10)
    test.assertFalse(pod_spec.get("shareProcessNamespace"),
                     "the preStop hook signals PID 1")
    cmd = c["lifecycle"]["preStop"]["exec"]["command"]
    test.assertEqual(cmd[:2], ["/bin/sh", "-c"])
    test.assertRegex(cmd[2], r"^kill -TERM 1; while kill -0 1\b.*; do sleep \d+; done$")
    # The readiness probe is what turns the pod away once it drains.
    test.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")


def check_metrics_and_probes(test, c):
    """/metrics, /healthz and /readyz on the pod IP (the downward API's
    status.podIP, allowed explicitly: the agent refuses a non-loopback
    metrics address otherwise), on the port the probes name. Returns that
    port."""
    args = c["args"]
    host, port = host_port(arg_after(args, "--metrics"))
    test.assertEqual(host, "$(POD_IP)")
    test.assertIn("--metrics-allow-remote", args)
    pod_ip = [e for e in c["env"] if e["name"] == "POD_IP"]
    test.assertEqual(pod_ip[0]["valueFrom"]["fieldRef"]["fieldPath"], "status.podIP")
    test.assertEqual(port_number(c, "metrics"), port)
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = c[probe]["httpGet"]
        test.assertEqual(get["path"], path)
        test.assertEqual(port_number(c, get["port"]), port)
    return port


def policy_rules(policy):
    """(from, set of port names or numbers) of each ingress rule."""
    return [(rule.get("from"), {p["port"] for p in rule.get("ports", [])})
            for rule in policy["spec"].get("ingress", [])]


def check_policy_monitoring_only(test, rules, c):
    """The metrics port is open to the monitoring namespace alone, whole."""
    mon = [(frm, ports) for frm, ports in rules
           if port_number(c, "metrics") in {port_number(c, p) for p in ports}]
    test.assertEqual(len(mon), 1, rules)
    frm, ports = mon[0]
    test.assertEqual(frm, [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}])
    test.assertEqual({port_number(c, p) for p in ports}, {port_number(c, "metrics")})


# Plaintext on every interface: what no manifest may make the agent (or a
# client) use.
WILDCARD_TCP = re.compile(r"tcp://(0\.0\.0\.0|\[::\]|\[0*:(0*:)*0*\])(:|$|/)")


def strings_in(node):
    """Every string value in a parsed YAML document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from strings_in(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings_in(v)


def commented_block(path, name):
    """The YAML documents between `# BEGIN name` and `# END name`, with the
    comment marks removed: a manifest shipped commented out."""
    with open(os.path.join(DEPLOY, *path)) as f:
        text = f.read()
    m = re.search(rf"^# BEGIN {name}\n(.*?)^# END {name}$", text, re.M | re.S)
    assert m, f"{path}: no block {name}"
    lines = []
    for line in m.group(1).splitlines():
        assert line == "#" or line.startswith("# "), line
        lines.append(line[2:])
    return [d for d in yaml.safe_load_all("\n".join(lines)) if d is not None]


def mtls_service():
    """The agent's Service for remote clients, commented out in the DaemonSet
    manifest until the agent has mutual TLS."""
    (svc,) = commented_block(("k8s", "agent-daemonset.yaml"), "mtls-service")
    assert svc["kind"] == "Service"
    return svc


# ---- Dockerfiles ------------------------------------------------------------

def dockerfile(*path):
    """Instructions of a Dockerfile as (KEYWORD, text) with continuation
    lines joined and comments dropped."""
    out = []
    pending = ""
    with open(os.path.join(DEPLOY, *path)) as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            line = pending + line
            pending = ""
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    assert not pending, "dangling continuation line"
    return out


def docker_build_tags(*path):
    """Image tags named by `docker build ... -t TAG` in a file's comments."""
    with open(os.path.join(DEPLOY, *path)) as f:
        return re.findall(r"docker build .*-t (\S+)", f.read())


def package_names():
    """The .deb package names cmake/Packaging.cmake gives the components."""
    with open(os.path.join(PROJECT, "cmake", "Packaging.cmake")) as f:
        text = f.read()
    names = set(re.findall(r"CPACK_DEBIAN_\w+_PACKAGE_NAME (\S+?)\)", text))
    with open(os.path.join(PROJECT, "CMakeLists.txt")) as f:
        major = re.search(r"project\(vaccel VERSION (\d+)", f.read())
    return {n.replace("${PROJECT_VERSION_MAJOR}", major.group(1)) for n in names}


class DockerfileChecks:
    """Checks shared by the two Dockerfiles (build context: the repository
    root)."""

    path = None

    def setUp(self):
        self.instr = dockerfile(*self.path)
        self.stages = {}
        for kw, rest in self.instr:
            if kw == "FROM":
                m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
                self.assertTrue(m, rest)
                if m.group(2):
                    self.stages[m.group(2)] = m.group(1)

    def copies(self):
        for kw, rest in self.instr:
            if kw == "COPY":
                words = shlex.split(rest)
                opts = [w for w in words if w.startswith("--")]
                paths = [w for w in words if not w.startswith("--")]
                yield opts, paths[:-1], paths[-1]

    def test_syntax_and_keywords(self):
        known = {"FROM", "RUN", "COPY", "ENV", "USER", "WORKDIR", "EXPOSE",
                 "CMD", "ENTRYPOINT", "HEALTHCHECK", "ARG", "LABEL"}
        for kw, _ in self.instr:
            self.assertIn(kw, known)
        self.assertEqual(self.instr[-1][0] in ("CMD", "ENTRYPOINT"), True)

    def test_copy_sources_exist(self):
        for opts, sources, _ in self.copies():
            stage = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
            if stage:
                self.assertTrue(stage[0] in self.stages or ":" in stage[0],
                                f"COPY --from={stage[0]}: no such stage")
                continue
            for src in sources:
                if src == ".":
                    continue
                self.assertTrue(os.path.exists(os.path.join(PROJECT, src)), src)

    def test_sources_compiled_exist(self):
        for kw, rest in self.instr:
            if kw == "RUN":
                for src in re.findall(r"\S+\.c\b", rest):
                    self.assertTrue(os.path.exists(os.path.join(PROJECT, src)), src)

    def test_packages_copied_are_built(self):
        names = package_names()
        for opts, sources, _ in self.copies():
            for src in sources:
                m = re.fullmatch(r".*/([a-z0-9.+-]+)_\*\.deb", src)
                if m:
                    self.assertIn(m.group(1), names)
        for kw, rest in self.instr:
            if kw == "RUN":
                for name in re.findall(r"/([a-z0-9.+-]+)_\*\.deb", rest):
                    self.assertIn(name, names)

    def test_build_stage_configures_without_tests(self):
        run = " ".join(r for k, r in self.instr if k == "RUN")
        for flag in ("-DVACCEL_BUILD_TESTS=OFF", "cpack -G DEB"):
            self.assertIn(flag, run)

    def test_user_is_numeric(self):
        # Kubernetes can only check runAsNonRoot against a numeric USER.
        users = [r for k, r in self.instr if k == "USER"]
        self.assertTrue(users)
        self.assertRegex(users[-1], r"^[1-9][0-9]*(:[0-9]+)?$")

    def test_dockerignore_keeps_the_sources(self):
        name = os.path.join(DEPLOY, *self.path) + ".dockerignore"
        with open(name) as f:
            patterns = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        self.assertIn("build", patterns)
        for needed in ("CMakeLists.txt", "src", "include", "plugins", "agent",
                       "cmake", "deploy"):
            for p in patterns:
                self.assertFalse(fnmatch.fnmatch(needed, p), (needed, p))


class AgentDockerfileTest(DockerfileChecks, unittest.TestCase):
    path = ("docker", "agent.Dockerfile")

    def test_entrypoint_is_the_packaged_agent(self):
        entry = [r for k, r in self.instr if k == "ENTRYPOINT"]
        self.assertEqual(yaml.safe_load(entry[-1]), ["/usr/bin/vaccel-agent"])
        cmd = yaml.safe_load([r for k, r in self.instr if k == "CMD"][-1])
        # A unix socket by default: no plaintext TCP listener at all.
        scheme, path = parse_address(arg_after(cmd, "--server-address"))
        self.assertEqual(scheme, "unix")
        self.assertEqual(path, "/run/vaccel/agent.sock")
        self.assertEqual([r for k, r in self.instr if k == "EXPOSE"], [])
        # Its directory exists for the image's user (without a volume).
        user = [r for k, r in self.instr if k == "USER"][-1]
        uid, _, gid = user.partition(":")
        self.assertTrue(any(re.search(rf"install -d -o {uid} -g {gid or uid} -m 07[0-7]0 "
                                      rf"{os.path.dirname(path)}$", r)
                            for k, r in self.instr if k == "RUN"))


class FunctionDockerfileTest(DockerfileChecks, unittest.TestCase):
    path = ("openfaas", "classify", "Dockerfile")

    def env(self):
        out = {}
        for kw, rest in self.instr:
            if kw == "ENV":
                for word in shlex.split(rest):
                    k, _, v = word.partition("=")
                    out[k] = v
        return out

    def test_watchdog_runs_the_handler(self):
        self.assertIn("watchdog", self.stages)
        self.assertRegex(self.stages["watchdog"],
                         r"^ghcr\.io/openfaas/classic-watchdog:\d+\.\d+\.\d+$")
        fprocess = self.env()["fprocess"]
        installed = [dst for opts, _, dst in self.copies()
                     if "--from=build" in opts]
        self.assertIn(fprocess, installed)
        self.assertIn("/usr/bin/fwatchdog",
                      [dst for opts, _, dst in self.copies()
                       if "--from=watchdog" in opts])
        cmd = yaml.safe_load([r for k, r in self.instr if k == "CMD"][-1])
        self.assertEqual(cmd, ["fwatchdog"])
        self.assertIn("8080", [r for k, r in self.instr if k == "EXPOSE"])

    def test_handler_built_against_the_dev_package(self):
        run = " ".join(r for k, r in self.instr if k == "RUN")
        self.assertIn("deploy/openfaas/classify/handler.c", run)
        self.assertIn("pkg-config --cflags --libs vaccel", run)
        self.assertIn("libvaccel-dev_*.deb", run)


# ---- Kubernetes -------------------------------------------------------------

class DaemonSetTest(unittest.TestCase):
    """deploy/k8s/agent-daemonset.yaml"""

    def setUp(self):
        self.docs = load_all("k8s", "agent-daemonset.yaml")
        self.ds = find(self.docs, "DaemonSet", "vaccel-agent")
        self.svc = mtls_service()
        self.pod = self.ds["spec"]["template"]
        self.agent = container(self.pod["spec"], "vaccel-agent")

    def test_namespace(self):
        ns = find(self.docs, "Namespace")["metadata"]["name"]
        for d in self.docs + [self.svc]:
            if d["kind"] != "Namespace":
                self.assertEqual(d["metadata"]["namespace"], ns, d["kind"])

    def test_selector_matches_pod_labels(self):
        labels = self.pod["metadata"]["labels"]
        self.assertTrue(selects(self.ds["spec"]["selector"]["matchLabels"], labels))
        self.assertTrue(selects(self.svc["spec"]["selector"], labels))

    def test_service_selects_only_agents(self):
        # The classify pods of the sidecar manifest must not receive agent
        # traffic.
        for other in load_all("k8s", "agent-sidecar.yaml"):
            if other["kind"] == "Deployment":
                self.assertFalse(selects(self.svc["spec"]["selector"],
                                         other["spec"]["template"]["metadata"]["labels"]))

    def test_listens_on_a_host_socket_only(self):
        scheme, path = parse_address(arg_after(self.agent["args"], "--server-address"))
        self.assertEqual(scheme, "unix")
        self.assertEqual(path, "/run/vaccel/agent.sock")
        # The socket's directory is a host directory the node's pods mount,
        # made beforehand for the agent's uid (kubelet would make it root's).
        name, rel = volume_path(self.agent, path)
        self.assertEqual(rel, "agent.sock")
        (vol,) = [v for v in self.pod["spec"]["volumes"] if v["name"] == name]
        self.assertEqual(vol["hostPath"], {"path": "/run/vaccel-agent",
                                           "type": "Directory"})
        # No RPC on the pod's IP (only the metrics port, below), nor on
        # the node's network.
        self.assertEqual([p["name"] for p in self.agent.get("ports", [])], ["metrics"])
        self.assertIsNot(self.pod["spec"].get("hostNetwork"), True)
        self.assertEqual([d for d in self.docs if d["kind"] == "Service"], [])

    def test_metrics_and_probes(self):
        # On the port the probes and the scrape annotations name.
        port = check_metrics_and_probes(self, self.agent)
        notes = self.pod["metadata"]["annotations"]
        self.assertEqual(notes["prometheus.io/scrape"], "true")
        self.assertEqual(int(notes["prometheus.io/port"]), port)
        self.assertEqual(notes["prometheus.io/path"], "/metrics")

    def test_drains_on_termination(self):
        check_draining(self, self.pod["spec"], self.agent)

    def test_network_policy_opens_the_metrics_to_monitoring_only(self):
        policy = find(self.docs, "NetworkPolicy", "vaccel-agent")
        self.assertTrue(selects(policy["spec"]["podSelector"]["matchLabels"],
                                self.pod["metadata"]["labels"]))
        self.assertEqual(policy["spec"]["policyTypes"], ["Ingress"])
        rules = policy_rules(policy)
        # Nothing else listens on the pod IP: one rule, the metrics port.
        self.assertEqual(len(rules), 1)
        check_policy_monitoring_only(self, rules, self.agent)

    def test_mtls_service_documented(self):
        # Commented out: applied only with a mutual-TLS listener, which the
        # note above it describes.
        with open(os.path.join(DEPLOY, "k8s", "agent-daemonset.yaml")) as f:
            text = f.read()
        for option in ("--tls-cert", "--tls-key", "--tls-client-ca"):
            self.assertRegex(text, rf"(?m)^#.*- {option}$")
        self.assertIn("mutual TLS", text)
        self.assertRegex(text, r"(?m)^#\s+- tcp://\$\(POD_IP\):65500$")
        (sp,) = self.svc["spec"]["ports"]
        self.assertEqual((sp["port"], sp["targetPort"], sp.get("protocol", "TCP")),
                         (65500, 65500, "TCP"))

    def test_node_local_traffic(self):
        # A pod must use the accelerator of its own node.
        self.assertEqual(self.svc["spec"]["internalTrafficPolicy"], "Local")

    def test_plugins_configured(self):
        refs = [e["configMapRef"]["name"] for e in self.agent.get("envFrom", [])]
        cms = {d["metadata"]["name"]: d for d in self.docs if d["kind"] == "ConfigMap"}
        env = {}
        for r in refs:
            self.assertIn(r, cms)
            env.update(cms[r]["data"])
        env.update(env_of(self.agent))
        self.assertRegex(env["VACCEL_PLUGINS"], r"^libvaccel-[a-z0-9_-]+\.so(:.+)?$")
        self.assertNotIn("libvaccel-rpc.so", env["VACCEL_PLUGINS"])

    def test_hardening_and_volumes(self):
        check_pod_volumes(self, self.pod["spec"])
        check_hardened(self, self.agent, self.pod["spec"])
        self.assertIs(self.pod["spec"]["securityContext"]["runAsNonRoot"], True)
        self.assertIs(self.pod["spec"].get("automountServiceAccountToken"), False)

    def test_gpu_request_kept(self):
        # The GPU the backend uses, as a (commented) resource limit.
        with open(os.path.join(DEPLOY, "k8s", "agent-daemonset.yaml")) as f:
            self.assertRegex(f.read(), r"(?m)^\s+#\s+nvidia\.com/gpu: 1$")


class PoolTest(unittest.TestCase):
    """deploy/k8s/agent-pool.yaml: agents for remote clients, on their pod
    IPs with mutual TLS, behind a headless Service."""

    def setUp(self):
        self.docs = load_all("k8s", "agent-pool.yaml")
        self.deploy = find(self.docs, "Deployment", "vaccel-agent-pool")
        self.svc = find(self.docs, "Service", "vaccel-agent-pool")
        self.policy = find(self.docs, "NetworkPolicy", "vaccel-agent-pool")
        self.pod = self.deploy["spec"]["template"]
        self.spec = self.pod["spec"]
        self.labels = self.pod["metadata"]["labels"]
        self.agent = container(self.spec, "vaccel-agent")

    def listen_port(self):
        scheme, rest = parse_address(arg_after(self.agent["args"], "--server-address"))
        self.assertEqual(scheme, "tcp")
        host, port = host_port(rest)
        self.assertEqual(host, "$(POD_IP)")
        return port

    def test_namespace(self):
        ns = find(self.docs, "Namespace")["metadata"]["name"]
        for d in self.docs:
            if d["kind"] != "Namespace":
                self.assertEqual(d["metadata"]["namespace"], ns, d["kind"])

    def test_selectors(self):
        self.assertTrue(selects(self.deploy["spec"]["selector"]["matchLabels"], self.labels))
        self.assertTrue(selects(self.svc["spec"]["selector"], self.labels))
        self.assertTrue(selects(self.policy["spec"]["podSelector"]["matchLabels"],
                                self.labels))
        # The node agents and the pool never select each other's pods.
        ds = find(load_all("k8s", "agent-daemonset.yaml"), "DaemonSet")
        ds_labels = ds["spec"]["template"]["metadata"]["labels"]
        self.assertFalse(selects(self.deploy["spec"]["selector"]["matchLabels"], ds_labels))
        self.assertFalse(selects(self.svc["spec"]["selector"], ds_labels))
        self.assertFalse(selects(ds["spec"]["selector"]["matchLabels"], self.labels))

    def test_headless_service_names_the_ready_agents(self):
        spec = self.svc["spec"]
        self.assertEqual(spec["clusterIP"], "None")
        self.assertIs(spec.get("publishNotReadyAddresses", False), False)
        ports = {p["name"]: p for p in spec["ports"]}
        self.assertEqual(set(ports), {"vaccel-rpc", "metrics"})
        rpc = ports["vaccel-rpc"]
        self.assertEqual(port_number(self.agent, rpc["targetPort"]), self.listen_port())
        self.assertEqual(rpc["port"], self.listen_port())
        self.assertEqual(port_number(self.agent, ports["metrics"]["targetPort"]),
                         host_port(arg_after(self.agent["args"], "--metrics"))[1])

    def test_listens_on_the_pod_ip_with_mutual_tls(self):
        args = self.agent["args"]
        self.listen_port()
        self.assertNotIn("--insecure-tcp", args)
        self.assertEqual(port_number(self.agent, "vaccel-rpc"), self.listen_port())
        # The three files from one Secret, under its own key names.
        volumes = {v["name"]: v for v in self.spec["volumes"]}
        names = set()
        for flag, key in (("--tls-cert", "tls.crt"), ("--tls-key", "tls.key"),
                          ("--tls-client-ca", "ca.crt")):
            name, rel = volume_path(self.agent, arg_after(args, flag))
            self.assertEqual(rel, key)
            names.add(name)
        self.assertEqual(len(names), 1)
        (name,) = names
        secret = volumes[name]["secret"]
        self.assertEqual(secret["secretName"], "vaccel-agent-tls")
        # Readable by the agent's group only; the agent's group owns it.
        mode = secret["defaultMode"]
        self.assertEqual(mode & 0o007, 0, oct(mode))
        self.assertEqual(mode & 0o040, 0o040, oct(mode))
        sc = self.spec["securityContext"]
        self.assertEqual(sc["fsGroup"], effective_security(self.spec, self.agent)["runAsGroup"])
        (mount,) = [m for m in self.agent["volumeMounts"] if m["name"] == name]
        self.assertIs(mount.get("readOnly"), True)

    def test_metrics_and_probes(self):
        check_metrics_and_probes(self, self.agent)

    def test_drains_on_termination(self):
        check_draining(self, self.spec, self.agent)
        # One agent at a time, none surged onto an accelerator.
        ru = self.deploy["spec"]["strategy"]["rollingUpdate"]
        self.assertEqual((ru["maxSurge"], ru["maxUnavailable"]), (0, 1))
        self.assertGreaterEqual(self.deploy["spec"]["replicas"], 2)

    def test_network_policy(self):
        spec = self.policy["spec"]
        self.assertEqual(spec["policyTypes"], ["Ingress"])
        rules = policy_rules(self.policy)
        # Every rule names its peers and ports: nothing is open to all.
        for frm, ports in rules:
            self.assertTrue(frm, rules)
            self.assertTrue(ports, rules)
        opened = set()
        for _, ports in rules:
            opened |= {port_number(self.agent, p) for p in ports}
        self.assertEqual(opened, {p["containerPort"] for p in self.agent["ports"]})
        check_policy_monitoring_only(self, rules, self.agent)
        # The RPC port: function pods only, in any namespace.
        (rpc,) = [(frm, ports) for frm, ports in rules
                  if self.listen_port() in {port_number(self.agent, p) for p in ports}]
        frm, ports = rpc
        self.assertEqual({port_number(self.agent, p) for p in ports}, {self.listen_port()})
        self.assertEqual(frm, [{"namespaceSelector": {},
                                "podSelector": {"matchLabels": {"vaccel/client": "true"}}}])

    def test_configuration(self):
        cms = {d["metadata"]["name"]: d for d in self.docs if d["kind"] == "ConfigMap"}
        env = {}
        for ref in self.agent.get("envFrom", []):
            r = ref["configMapRef"]["name"]
            self.assertIn(r, cms)
            env.update(cms[r]["data"])
        self.assertRegex(env["VACCEL_PLUGINS"], r"^libvaccel-[a-z0-9_-]+\.so(:.+)?$")
        self.assertNotIn("libvaccel-rpc.so", env["VACCEL_PLUGINS"])

    def test_hardening_and_volumes(self):
        check_pod_volumes(self, self.spec)
        check_hardened(self, self.agent, self.spec)
        self.assertIs(self.spec.get("automountServiceAccountToken"), False)


class PodMonitorTest(unittest.TestCase):
    """deploy/k8s/agent-podmonitor.yaml: the Prometheus Operator scrapes
    every agent, node agents and pool, on its metrics port."""

    def test_scrapes_every_agent(self):
        pm = load("k8s", "agent-podmonitor.yaml")
        self.assertEqual(pm["apiVersion"], "monitoring.coreos.com/v1")
        self.assertEqual(pm["kind"], "PodMonitor")
        selector = pm["spec"]["selector"]["matchLabels"]
        (ep,) = pm["spec"]["podMetricsEndpoints"]
        self.assertEqual(ep["path"], "/metrics")
        ds = find(load_all("k8s", "agent-daemonset.yaml"), "DaemonSet")
        pool = find(load_all("k8s", "agent-pool.yaml"), "Deployment")
        for workload in (ds, pool):
            pod = workload["spec"]["template"]
            self.assertTrue(selects(selector, pod["metadata"]["labels"]))
            agent = container(pod["spec"], "vaccel-agent")
            # The named port is the one the agent serves /metrics on.
            self.assertEqual(port_number(agent, ep["port"]),
                             host_port(arg_after(agent["args"], "--metrics"))[1])
            ns = workload["metadata"]["namespace"]
            self.assertTrue(pm["metadata"]["namespace"] == ns or
                            ns in pm["spec"].get("namespaceSelector", {}).get("matchNames", []))


class SidecarTest(unittest.TestCase):
    """deploy/k8s/agent-sidecar.yaml"""

    def setUp(self):
        self.docs = load_all("k8s", "agent-sidecar.yaml")
        self.deploy = find(self.docs, "Deployment")
        self.spec = self.deploy["spec"]["template"]["spec"]
        self.agent = container(self.spec, "vaccel-agent")
        (self.app,) = self.spec["containers"]

    def socket_paths(self):
        scheme, agent_path = parse_address(
            arg_after(self.agent["args"], "--server-address"))
        self.assertEqual(scheme, "unix")
        env = env_of(self.app)
        scheme, app_path = parse_address(env["VACCEL_RPC_ADDRESS"])
        self.assertEqual(scheme, "unix")
        return agent_path, app_path

    def test_same_socket_in_both_containers(self):
        agent_path, app_path = self.socket_paths()
        self.assertEqual(agent_path, "/run/vaccel/agent.sock")
        self.assertEqual(app_path, agent_path)
        # ... and the same file: one volume, same place inside it.
        self.assertEqual(volume_path(self.agent, agent_path),
                         volume_path(self.app, app_path))

    def test_socket_volume_is_a_pod_local_emptydir(self):
        agent_path, _ = self.socket_paths()
        name, _ = volume_path(self.agent, agent_path)
        (vol,) = [v for v in self.spec["volumes"] if v["name"] == name]
        self.assertIn("emptyDir", vol)

    def test_app_uses_the_rpc_plugin(self):
        env = env_of(self.app)
        self.assertEqual(env["VACCEL_PLUGINS"], "libvaccel-rpc.so")

    def test_agent_runs_a_backend(self):
        env = env_of(self.agent)
        self.assertRegex(env["VACCEL_PLUGINS"], r"^libvaccel-[a-z0-9_-]+\.so")
        self.assertNotIn("libvaccel-rpc.so", env["VACCEL_PLUGINS"])

    def test_agent_is_a_native_sidecar_ready_when_its_socket_is(self):
        self.assertIn(self.agent, self.spec.get("initContainers", []))
        self.assertEqual(self.agent["restartPolicy"], "Always")
        agent_path, _ = self.socket_paths()
        self.assertEqual(self.agent["startupProbe"]["exec"]["command"],
                         ["test", "-S", agent_path])

    def test_containers_share_a_user(self):
        # The socket is created under the agent's uid; the app must be
        # allowed to connect to it.
        pod_sc = self.spec.get("securityContext", {})
        uids = {c.get("securityContext", {}).get("runAsUser", pod_sc.get("runAsUser"))
                for c in pod_containers(self.spec)}
        self.assertEqual(len(uids), 1)
        self.assertIsNotNone(uids.pop())

    def test_selectors_and_ports(self):
        labels = self.deploy["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(selects(self.deploy["spec"]["selector"]["matchLabels"], labels))
        svc = find(self.docs, "Service")
        self.assertTrue(selects(svc["spec"]["selector"], labels))
        (sp,) = svc["spec"]["ports"]
        self.assertEqual(port_number(self.app, sp["targetPort"]), 8080)
        self.assertEqual(port_number(self.app, self.app["readinessProbe"]["httpGet"]["port"]),
                         8080)
        self.assertEqual(svc["metadata"]["namespace"],
                         self.deploy["metadata"]["namespace"])

    def test_hardening_and_volumes(self):
        check_pod_volumes(self, self.spec)
        for c in pod_containers(self.spec):
            check_hardened(self, c, self.spec)
        self.assertIs(self.spec.get("automountServiceAccountToken"), False)


# ---- serverless -------------------------------------------------------------

def pool_service_address():
    """tcp://<service>.<namespace>.svc.cluster.local:<port> of the agent
    pool's headless Service (every ready agent)."""
    svc = find(load_all("k8s", "agent-pool.yaml"), "Service")
    (port,) = [p for p in svc["spec"]["ports"] if p["name"] == "vaccel-rpc"]
    return (f"tcp://{svc['metadata']['name']}.{svc['metadata']['namespace']}"
            f".svc.cluster.local:{port['port']}")


def pool_client_labels():
    """The labels the pool's NetworkPolicy lets reach the RPC port."""
    policy = find(load_all("k8s", "agent-pool.yaml"), "NetworkPolicy")
    for rule in policy["spec"]["ingress"]:
        for peer in rule["from"]:
            if "podSelector" in peer:
                return peer["podSelector"]["matchLabels"]
    raise AssertionError("no client rule")


TLS_FILES = {"VACCEL_RPC_TLS_CERT": "tls.crt", "VACCEL_RPC_TLS_KEY": "tls.key",
             "VACCEL_RPC_TLS_CA": "ca.crt"}


def function_image():
    (tag,) = docker_build_tags("openfaas", "classify", "Dockerfile")
    return tag


class KnativeTest(unittest.TestCase):
    """deploy/knative/classify-service.yaml"""

    def setUp(self):
        self.ksvc = load("knative", "classify-service.yaml")
        (self.c,) = self.ksvc["spec"]["template"]["spec"]["containers"]

    def test_kind(self):
        self.assertEqual(self.ksvc["apiVersion"], "serving.knative.dev/v1")
        self.assertEqual(self.ksvc["kind"], "Service")

    def test_reaches_the_agent_pool_over_mutual_tls(self):
        env = env_of(self.c)
        self.assertEqual(env["VACCEL_PLUGINS"], "libvaccel-rpc.so")
        self.assertEqual(env["VACCEL_RPC_ADDRESS"], pool_service_address())
        # The client certificate, key and CA from one Secret, by key name.
        spec = self.ksvc["spec"]["template"]["spec"]
        vols = {v["name"]: v for v in spec["volumes"]}
        names = set()
        for var, key in TLS_FILES.items():
            name, rel = volume_path(self.c, env[var])
            self.assertEqual(rel, key)
            names.add(name)
        (name,) = names
        self.assertIn("secretName", vols[name]["secret"])
        # Let in by the pool's NetworkPolicy.
        self.assertTrue(selects(pool_client_labels(),
                                self.ksvc["spec"]["template"]["metadata"]["labels"]))

    def test_hardening(self):
        # A read-only root filesystem would need Knative's emptyDir feature
        # flag for the watchdog's /tmp: not assumed here.
        check_hardened(self, self.c, self.ksvc["spec"]["template"]["spec"],
                       read_only=False)

    def test_image_and_port(self):
        self.assertEqual(self.c["image"], function_image())
        # The classic watchdog listens on 8080, Knative's default port.
        self.assertEqual([p["containerPort"] for p in self.c["ports"]], [8080])


class OpenFaaSStackTest(unittest.TestCase):
    """deploy/openfaas/stack.yml"""

    def setUp(self):
        self.stack = load("openfaas", "stack.yml")
        self.fn = self.stack["functions"]["classify"]

    def test_provider(self):
        self.assertEqual(self.stack["provider"]["name"], "openfaas")

    def test_handler_folder(self):
        self.assertEqual(self.fn["lang"], "dockerfile")
        folder = os.path.join(DEPLOY, "openfaas", self.fn["handler"])
        for f in ("Dockerfile", "handler.c"):
            self.assertTrue(os.path.isfile(os.path.join(folder, f)), f)
        # The Dockerfile's context is the repository root, not the handler
        # folder faas-cli would use: the image is built with docker.
        self.assertIs(self.fn["skip_build"], True)

    def test_image(self):
        self.assertEqual(self.fn["image"], function_image())

    def test_reaches_the_agent_pool_over_mutual_tls(self):
        env = self.fn["environment"]
        self.assertEqual(env["VACCEL_PLUGINS"], "libvaccel-rpc.so")
        self.assertEqual(env["VACCEL_RPC_ADDRESS"], pool_service_address())
        # OpenFaaS mounts each key of a function's secrets as a file there.
        (secret,) = self.fn["secrets"]
        self.assertTrue(secret)
        for var, key in TLS_FILES.items():
            self.assertEqual(env[var], "/var/openfaas/secrets/" + key)
        self.assertTrue(selects(pool_client_labels(), self.fn["labels"]))


def kubernetes_manifests():
    """(file, documents) of every Kubernetes manifest in deploy/k8s."""
    folder = os.path.join(DEPLOY, "k8s")
    for name in sorted(os.listdir(folder)):
        if name.endswith((".yaml", ".yml")):
            yield name, load_all("k8s", name)


def pod_specs(doc):
    spec = doc.get("spec", {})
    if "template" in spec:
        yield spec["template"]["spec"]
    elif doc.get("kind") == "Pod":
        yield spec


class AllManifestsTest(unittest.TestCase):
    """Every container of every Kubernetes manifest is unprivileged, on a
    read-only root filesystem; no manifest anywhere in deploy/ points the
    agent or a client at plaintext TCP on every interface."""

    def test_manifests_found(self):
        names = [name for name, _ in kubernetes_manifests()]
        for name in ("agent-daemonset.yaml", "agent-sidecar.yaml",
                     "agent-pool.yaml", "agent-podmonitor.yaml"):
            self.assertIn(name, names)

    def test_every_container_hardened(self):
        for name, docs in kubernetes_manifests():
            for doc in docs:
                for spec in pod_specs(doc):
                    self.assertIsNot(spec.get("hostNetwork"), True, name)
                    self.assertIsNot(spec.get("hostPID"), True, name)
                    self.assertIsNot(spec.get("hostIPC"), True, name)
                    for c in pod_containers(spec):
                        with self.subTest(manifest=name, container=c["name"]):
                            check_hardened(self, c, spec)

    def test_no_wildcard_plaintext_address(self):
        files = [("k8s", n) for n, _ in kubernetes_manifests()] + [
            ("knative", "classify-service.yaml"), ("openfaas", "stack.yml")]
        for path in files:
            for doc in load_all(*path):
                for value in strings_in(doc):
                    self.assertIsNone(WILDCARD_TCP.search(value), (path, value))
        for path in (("docker", "agent.Dockerfile"),
                     ("openfaas", "classify", "Dockerfile")):
            for kw, rest in dockerfile(*path):
                self.assertIsNone(WILDCARD_TCP.search(rest), (path, kw, rest))

    def test_wildcard_pattern(self):
        for bad in ("tcp://0.0.0.0:65500", "tcp://[::]:65500", "tcp://[0:0::0]:1"):
            self.assertTrue(WILDCARD_TCP.search(bad), bad)
        for good in ("tcp://127.0.0.1:65500", "tcp://[::1]:65500",
                     "tcp://vaccel-agent.vaccel.svc.cluster.local:65500",
                     "unix:///run/vaccel/agent.sock", "tcp://$(POD_IP):65500"):
            self.assertFalse(WILDCARD_TCP.search(good), good)


class ImagesTest(unittest.TestCase):
    """Every manifest names the images the Dockerfiles build."""

    def test_images(self):
        (agent_tag,) = docker_build_tags("docker", "agent.Dockerfile")
        fn_tag = function_image()
        ds = find(load_all("k8s", "agent-daemonset.yaml"), "DaemonSet")
        self.assertEqual(container(ds["spec"]["template"]["spec"], "vaccel-agent")["image"],
                         agent_tag)
        pool = find(load_all("k8s", "agent-pool.yaml"), "Deployment")
        self.assertEqual(container(pool["spec"]["template"]["spec"], "vaccel-agent")["image"],
                         agent_tag)
        sidecar = find(load_all("k8s", "agent-sidecar.yaml"), "Deployment")
        spec = sidecar["spec"]["template"]["spec"]
        self.assertEqual(container(spec, "vaccel-agent")["image"], agent_tag)
        self.assertEqual(container(spec, "classify")["image"], fn_tag)


if __name__ == "__main__":
    unittest.main()
