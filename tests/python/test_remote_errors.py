# SPDX-License-Identifier: Apache-2.0
"""Errors travel: an op that fails in a real vaccel-agent's plugin raises a
VaccelError whose message is that plugin's reason, as the agent saw it,
behind the client side's op and plugin."""

import os
import subprocess
import time

import pytest

import vaccel


def _need(name):
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: the agent or rpc plugin is not built")
    return value


def _wait_listening(proc, log, bound_s=15.0):
    deadline = time.monotonic() + bound_s
    while time.monotonic() < deadline:
        if "vaccel-agent listening on" in log.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    pytest.fail("the agent did not start: " + log.read_text())


@pytest.fixture
def agent(tmp_path, paths):
    """A vaccel-agent with the exec plugin on a unix socket in tmp_path, and
    the runtime restarted with only the rpc plugin pointed at it."""
    agent_bin = _need("VACCEL_TEST_AGENT")
    rpc = _need("VACCEL_TEST_RPC_PLUGIN")
    policy = _need("VACCEL_TEST_POLICY")
    address = f"unix://{tmp_path}/agent.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VACCEL_")}
    env["VACCEL_PLUGINS"] = paths["exec"]
    log = tmp_path / "agent.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [agent_bin, "-a", address, "--policy", policy],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    saved = os.environ.get("VACCEL_RPC_ADDRESS")
    try:
        _wait_listening(proc, log)
        os.environ["VACCEL_RPC_ADDRESS"] = address
        vaccel.cleanup()
        vaccel.bootstrap(plugins=rpc)
        yield address
    finally:
        vaccel.cleanup()
        if saved is None:
            os.environ.pop("VACCEL_RPC_ADDRESS", None)
        else:
            os.environ["VACCEL_RPC_ADDRESS"] = saved
        vaccel.bootstrap(plugins=f"{paths['noop']}:{paths['exec']}")
        proc.terminate()
        proc.wait(timeout=10)


def test_remote_failure_names_op_plugin_file_and_cause(agent, paths):
    lib = paths["mytestlib"]
    with vaccel.Session(vaccel.PluginType.REMOTE) as s:
        assert s.op_plugin(vaccel.OpType.EXEC) == "rpc"
        with pytest.raises(vaccel.VaccelError) as e:
            s.exec(lib, "no_such_function")
    assert e.value.code == vaccel.ENOSYS
    message = e.value.message
    # This side: the op and the plugin that carried it to the agent.
    assert message.startswith(f"exec: plugin rpc: agent {agent}: "), message
    # The agent's side: the op, its plugin, the file and the cause.
    assert (f": exec: plugin exec: {lib}: symbol no_such_function not found"
            in message), message
    assert message in str(e.value)
    assert vaccel.last_error() == message
