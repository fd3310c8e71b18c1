# SPDX-License-Identifier: Apache-2.0
"""Sessions and resources: creation, context managers, registration,
release rules, every resource kind, and use after release / cleanup."""

import gc
import http.server
import os
import threading

import numpy as np
import pytest

import vaccel


@pytest.fixture(autouse=True)
def no_leaks():
    s, r = vaccel.session_count(), vaccel.resource_count()
    yield
    gc.collect()
    assert (vaccel.session_count(), vaccel.resource_count()) == (s, r)


def test_session_context_manager():
    with vaccel.Session(vaccel.PluginType.DEBUG) as s:
        assert s.id > 0 and s.hint == int(vaccel.PluginType.DEBUG)
        assert not s.is_virtio and not s.released
        assert vaccel.session_count() >= 1
        s.update(vaccel.PluginType.GENERIC)
        assert s.hint == 0x80
        assert s.op_plugin(vaccel.OpType.EXEC) == "exec"
    assert s.released
    assert repr(s) == "<vaccel.Session released>"
    with pytest.raises(vaccel.VaccelError) as e:
        s.noop()
    assert e.value.code == vaccel.EINVAL
    s.release()  # idempotent


def test_sessions_are_freed_by_gc():
    before = vaccel.session_count()
    sessions = [vaccel.Session() for _ in range(10)]
    assert len({s.id for s in sessions}) == 10
    assert vaccel.session_count() == before + 10
    del sessions
    gc.collect()
    assert vaccel.session_count() == before


def test_resource_from_file(paths):
    path = os.path.join(paths["data"], "example.jpg")
    with vaccel.Resource(path, vaccel.ResourceType.DATA) as r:
        assert r.id > 0 and r.type == vaccel.ResourceType.DATA
        assert r.path_type == vaccel.PathType.LOCAL_FILE
        assert r.paths == [path]
        (blob,) = r.blobs
        assert blob["name"] == "example.jpg"
        assert blob["path"] == path
    assert r.released
    with pytest.raises(vaccel.VaccelError):
        r.id


def test_resource_from_directory_and_multi(tmp_path):
    for name, data in (("a.bin", b"aa"), ("b.bin", b"bbb")):
        (tmp_path / name).write_bytes(data)
    with vaccel.Resource(tmp_path, vaccel.ResourceType.MODEL) as r:
        assert r.path_type == vaccel.PathType.LOCAL_DIR
        assert sorted(b["name"] for b in r.blobs) == ["a.bin", "b.bin"]
        assert r.directory == str(tmp_path)
    files = [tmp_path / "a.bin", str(tmp_path / "b.bin")]
    with vaccel.Resource(files) as r:
        assert [b["name"] for b in r.blobs] == ["a.bin", "b.bin"]
        with pytest.raises(vaccel.VaccelError):
            r.directory


def test_resource_from_buffer_and_blobs():
    data = np.arange(10, dtype=np.uint8)
    with vaccel.Resource.from_buffer(data, filename="x.bin") as r:
        (blob,) = r.blobs
        assert blob["size"] == 10 and blob["name"] == "x.bin"
        with open(blob["path"], "rb") as f:  # written to the rundir
            assert f.read() == data.tobytes()
    with vaccel.Resource.from_buffer(b"abc", mem_only=True) as r:
        assert r.blobs[0]["path"] is None
    with vaccel.Resource.from_blobs([("one", b"1"), ("two", b"22")],
                                    vaccel.ResourceType.MODEL) as r:
        assert [(b["name"], b["size"]) for b in r.blobs] == \
            [("one", 1), ("two", 2)]


def test_resource_from_url(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"downloaded bytes")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(tmp_path), **kw)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/model.bin"
        with vaccel.Resource(url, vaccel.ResourceType.MODEL) as r:
            assert r.path_type == vaccel.PathType.REMOTE_FILE
            with open(r.blobs[0]["path"], "rb") as f:
                assert f.read() == b"downloaded bytes"
        with pytest.raises(vaccel.VaccelError):
            vaccel.Resource(url + ".missing")
    finally:
        server.shutdown()
        server.server_close()


def test_resource_errors(tmp_path):
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.Resource(tmp_path / "missing.bin")
    # Upstream parity: a missing path is EINVAL (it was ENOENT).
    assert e.value.code == vaccel.EINVAL
    assert e.value.message


def test_registration_rules(paths):
    r = vaccel.Resource(os.path.join(paths["data"], "imagenet.txt"))
    s = vaccel.Session()
    s.register(r)
    assert s.has_resource(r) and r.refcount == 1
    assert s.resources == [r]
    with pytest.raises(vaccel.VaccelError) as e:
        s.register(r)
    assert e.value.code == vaccel.EEXIST
    s.unregister(r)
    assert not s.has_resource(r) and r.refcount == 0
    with pytest.raises(vaccel.VaccelError) as e:
        s.unregister(r)
    assert e.value.code == vaccel.EPERM
    s.register(r)
    s.release()  # unregisters what it registered
    assert r.refcount == 0
    r.release()


def test_release_of_a_registered_resource_unregisters_it(paths):
    # Upstream parity: no EBUSY (there was one before).
    r = vaccel.Resource(os.path.join(paths["data"], "imagenet.txt"))
    s = vaccel.Session()
    s.register(r)
    r.release()
    assert r.released
    assert s.resources == []
    s.release()


def test_session_keeps_registered_resources_alive(paths):
    s = vaccel.Session()
    s.register(vaccel.Resource(paths["mytestlib"], vaccel.ResourceType.LIB))
    gc.collect()
    (r,) = s.resources
    assert not r.released and r.refcount == 1
    del r
    s.release()


def test_objects_after_cleanup(fresh_runtime, paths):
    s = vaccel.Session()
    r = vaccel.Resource(paths["mytestlib"])
    s.register(r)
    vaccel.cleanup()
    # The runtime freed their state: calls fail cleanly, nothing crashes.
    with pytest.raises(vaccel.VaccelError) as e:
        s.noop()
    assert e.value.code == vaccel.EINVAL
    with pytest.raises(vaccel.VaccelError):
        vaccel.Session()
    s.release()  # the runtime dropped it already: a no-op
    assert s.released
    r.release()
    assert r.released
    vaccel.bootstrap()
    with vaccel.Session() as s2:
        s2.noop()
