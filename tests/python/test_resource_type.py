# SPDX-License-Identifier: Apache-2.0
"""vaccel.Resource(path) without a type reads it off the files
(docs/python.md, "Resource types"); an explicit type, positional or as
upstream's keyword type_, always wins. The last test is the case that
failed before: a model directory given without a type, classified by the
torch plugin (skipped where the plugin is not built)."""

import os
import shutil

import pytest

import vaccel

T = vaccel.ResourceType


def touch(path, data=b"x"):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", ["m.pt", "m.pth", "m.onnx", "m.tflite",
                                  "saved_model.pb", "m.engine"])
def test_model_files_are_models(tmp_path, name):
    with vaccel.Resource(touch(tmp_path / name)) as r:
        assert r.type == T.MODEL


def test_directory_with_a_model_is_a_model(tmp_path):
    touch(tmp_path / "labels.txt")
    touch(tmp_path / "preprocess.cfg")
    touch(tmp_path / "model.onnx")
    with vaccel.Resource(tmp_path) as r:
        assert r.type == T.MODEL
    with vaccel.Resource(str(tmp_path) + "/") as r:
        assert r.type == T.MODEL


def test_shared_libraries(tmp_path, paths):
    with vaccel.Resource(paths["mytestlib"]) as r:
        assert r.type == T.LIB
    lib = tmp_path / "lib"
    lib.mkdir()
    touch(lib / "libfoo.so.1.2")
    touch(lib / "libbar.so")
    with vaccel.Resource(lib) as r:
        assert r.type == T.LIB
    # A compiled model and its parameters.
    touch(lib / "params.bin")
    with vaccel.Resource(lib) as r:
        assert r.type == T.MODEL


def test_anything_else_is_data(tmp_path, paths):
    with vaccel.Resource(os.path.join(paths["data"], "example.jpg")) as r:
        assert r.type == T.DATA
    touch(tmp_path / "a.csv")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "libso.txt")
    with vaccel.Resource([tmp_path / "a.csv", tmp_path / "notes.txt"]) as r:
        assert r.type == T.DATA
    with vaccel.Resource(tmp_path) as r:
        assert r.type == T.DATA


def test_explicit_type_wins(tmp_path):
    model = touch(tmp_path / "m.pt")
    with vaccel.Resource(model, T.DATA) as r:
        assert r.type == T.DATA
    with vaccel.Resource(model, type=T.LIB) as r:
        assert r.type == T.LIB
    with vaccel.Resource(model, type_=T.DATA) as r:  # upstream's keyword
        assert r.type == T.DATA
    with vaccel.Resource(model, T.DATA, type_=T.DATA) as r:
        assert r.type == T.DATA
    with pytest.raises(vaccel.VaccelError) as e:
        vaccel.Resource(model, T.DATA, type_=T.MODEL)
    assert e.value.code == vaccel.EINVAL


def test_untyped_model_directory_classifies(fresh_runtime, tmp_path, paths):
    torch = os.environ.get("VACCEL_TEST_TORCH_PLUGIN")
    if not torch or not os.path.exists(torch):
        pytest.skip("the torch plugin is not built")
    src = paths["source"]
    shutil.copy(os.path.join(src, "models", "fashion_mnist.pt"), tmp_path)
    shutil.copy(os.path.join(src, "models", "fashion_mnist_labels.txt"),
                tmp_path)
    shutil.copy(os.path.join(src, "models", "fashion_mnist_torch.cfg"),
                tmp_path)
    vaccel.cleanup()
    vaccel.bootstrap(plugins=torch)
    image = os.path.join(paths["data"], "fashion", "0000_ankle-boot.png")
    with vaccel.Session() as s, vaccel.Resource(f"{tmp_path}/") as model:
        assert model.type == T.MODEL
        s.register(model)
        tag, _ = s.classify(open(image, "rb").read())
        s.unregister(model)
    assert tag == "Ankle boot"
