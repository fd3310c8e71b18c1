#!/usr/bin/python3
"""Make the torch plugin tests' fixtures (tests/torch/fixtures/).

Run from anywhere with /usr/bin/python3 (python3-torch, python3-numpy and, for
the Fashion-MNIST reference, Debian's dataset-fashion-mnist):

    /usr/bin/python3 tests/torch/make_fixtures.py

It writes small TorchScript models (*.pt) and, for each, a *.io file with
random inputs (fixed seed, odd sizes) and the outputs torch computes for them;
the C++ tests run the models through the plugin and compare. The models are
saved by the libtorch this script runs on (1.13 here), a format every later
libtorch reads.

.io format (little-endian):
    b"VTIO", u32 nr_inputs, u32 nr_outputs, then nr_inputs + nr_outputs
    tensors, each: u32 vaccel_torch_data_type, u32 nr_dims,
    i64 dims[nr_dims], u64 nr_bytes, the bytes (C order).
"""

import gzip
import os
import struct
import sys
from typing import Dict, List, Tuple

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATASET = "/usr/share/datasets/fashion-mnist"

# enum vaccel_torch_data_type
VTYPE = {
    torch.uint8: 1, torch.int8: 2, torch.int16: 3, torch.int32: 4,
    torch.int64: 5, torch.float16: 6, torch.float32: 7,
}


def write_io(name, inputs, outputs):
    with open(os.path.join(OUT, name + ".io"), "wb") as f:
        f.write(b"VTIO" + struct.pack("<II", len(inputs), len(outputs)))
        for t in list(inputs) + list(outputs):
            t = t.contiguous()
            dims = list(t.shape) if t.dim() > 0 else [1]
            data = t.numpy().tobytes()
            f.write(struct.pack("<II", VTYPE[t.dtype], len(dims)))
            f.write(struct.pack("<%dq" % len(dims), *dims))
            f.write(struct.pack("<Q", len(data)))
            f.write(data)


def save(name, module):
    torch.jit.save(module, os.path.join(OUT, name + ".pt"))


class TwoInTwoOut(torch.nn.Module):
    """Two inputs of different types, a tuple of two outputs."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(7))
        self.b = torch.nn.Parameter(torch.randn(5))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        a = (torch.tanh(x) * self.w).sum(-1) + self.b
        c = (y * 3 - 1).to(torch.int64)
        return a, c


class AllTypes(torch.nn.Module):
    """One input and one output of every vaccel_torch_data_type."""

    def forward(self, u8: torch.Tensor, i8: torch.Tensor, i16: torch.Tensor,
                i32: torch.Tensor, i64: torch.Tensor, f16: torch.Tensor,
                f32: torch.Tensor):
        return (u8 + 3, i8 * -1, i16 * 2 + 1, i32 - 7, i64 * 5,
                f16 * 2, torch.exp(f32))


class ListOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        return [x + 1, x * 2, x.sum(0)]


class NestedOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        return x.max(1).values, (x.min(0).values, x.t().contiguous())


class ScalarOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum()


class NoInput(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.arange(12, dtype=torch.int32).reshape(3, 4))

    def forward(self) -> torch.Tensor:
        return self.table * 2


class DoubleOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.double()


class DictOut(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"x": x}


def synthetic():
    torch.manual_seed(20240601)
    g = torch.Generator().manual_seed(7)

    m = torch.jit.script(TwoInTwoOut().eval())
    x = torch.randn(3, 5, 7, generator=g)
    y = torch.randint(-1000, 1000, (7,), dtype=torch.int32, generator=g)
    save("two_in_two_out", m)
    with torch.no_grad():
        write_io("two_in_two_out", [x, y], list(m(x, y)))

    m = torch.jit.script(AllTypes())
    ins = [
        torch.randint(0, 256, (5,), dtype=torch.uint8, generator=g),
        torch.randint(-100, 100, (2, 3), dtype=torch.int8, generator=g),
        torch.randint(-1000, 1000, (7, 1), dtype=torch.int16, generator=g),
        torch.randint(-10**6, 10**6, (1, 1, 1, 3), dtype=torch.int32, generator=g),
        torch.randint(-10**12, 10**12, (11,), dtype=torch.int64, generator=g),
        torch.randn(3, 2, generator=g).to(torch.float16),
        torch.randn(1, generator=g),
    ]
    save("all_types", m)
    write_io("all_types", ins, list(m(*ins)))

    x = torch.randn(4, 9, generator=g)
    for name, mod in (("list_out", ListOut()), ("nested_out", NestedOut()),
                      ("scalar_out", ScalarOut())):
        m = torch.jit.script(mod)
        save(name, m)
        r = m(x)
        outs = [r] if isinstance(r, torch.Tensor) else []
        if not outs:
            for e in r:
                outs.extend(e if isinstance(e, tuple) else [e])
        write_io(name, [x], outs)

    m = torch.jit.script(NoInput())
    save("no_input", m)
    write_io("no_input", [], [m()])

    save("double_out", torch.jit.script(DoubleOut()))
    save("dict_out", torch.jit.script(DictOut()))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def references():
    # Fashion-MNIST: the first 8 test images, normalised as models/README.md
    # says, and the committed model's logits for them.
    model = torch.jit.load(os.path.join(ROOT, "models", "fashion_mnist.pt"))
    images = read_idx(os.path.join(DATASET, "t10k-images-idx3-ubyte.gz"))[:8]
    x = (torch.from_numpy(images.astype(np.float32) / 255.0) - 0.5) / 0.5
    x = x.unsqueeze(1).contiguous()
    with torch.no_grad():
        write_io("fashion_ref", [x], [model(x)])

    # Upstream's cnn_trace.pt on a 1x3x224x224 input that the test builds
    # itself (too large to store): element i is ((i * 7) % 256) / 255.
    model = torch.jit.load(os.path.join(ROOT, "examples", "data", "cnn_trace.pt"))
    n = 3 * 224 * 224
    x = torch.from_numpy((np.arange(n, dtype=np.int64) * 7 % 256).astype(np.float32) / 255.0)
    with torch.no_grad():
        write_io("cnn_trace_ref", [], [model(x.reshape(1, 3, 224, 224))])


def main():
    os.makedirs(OUT, exist_ok=True)
    synthetic()
    references()
    for f in sorted(os.listdir(OUT)):
        print(f"{f}: {os.path.getsize(os.path.join(OUT, f))} bytes")


if __name__ == "__main__":
    sys.exit(main())
