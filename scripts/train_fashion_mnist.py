#!/usr/bin/python3
"""Train the small Fashion-MNIST CNN shipped in models/ and export it.

Outputs (paths relative to the repository root unless --out is given):
  models/fashion_mnist.pt          TorchScript (traced) for the torch plugin
  models/fashion_mnist.onnx        ONNX (opset 11, Conv/Relu/MaxPool/Flatten/Gemm)
  models/fashion_mnist_labels.txt  class names, one per line, in class order
  examples/data/fashion/*.png      a few held-out test images for the examples

Input contract of both models: float32 NCHW tensor [N, 1, 28, 28] holding
(pixel / 255 - 0.5) / 0.5, i.e. values in [-1, 1]; output: [N, 10] logits.

Uses Debian's dataset-fashion-mnist package (idx.gz files) and runs on CPU in
well under a minute with 2 cores.  Usage: /usr/bin/python3 scripts/train_fashion_mnist.py
"""

import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

DATASET_DIR = "/usr/share/datasets/fashion-mnist"
LABELS = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
MEAN = 0.5
STD = 0.5


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(dataset_dir, prefix):
    images = read_idx(os.path.join(dataset_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(dataset_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels


def to_input(images_u8):
    x = torch.from_numpy(images_u8.astype(np.float32) / 255.0)
    return ((x - MEAN) / STD).unsqueeze(1)


class FashionNet(nn.Module):
    """~10k parameters: two conv blocks and one linear layer."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16x14x14
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16x7x7
        )
        self.classifier = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return (pred == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=DATASET_DIR)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    train_img, train_lbl = load_split(args.dataset, "train")
    test_img, test_lbl = load_split(args.dataset, "t10k")
    x_train, y_train = to_input(train_img), torch.from_numpy(train_lbl.astype(np.int64))
    x_test, y_test = to_input(test_img), torch.from_numpy(test_lbl.astype(np.int64))

    model = FashionNet()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.6)
    loss_fn = nn.CrossEntropyLoss()
    batch = 128
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
        sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} "
              f"test acc {accuracy(model, x_test, y_test):.4f} ({time.time() - t0:.1f}s)")

    acc = accuracy(model, x_test, y_test)
    print(f"final test accuracy: {acc:.4f} on {len(x_test)} images")
    if acc < 0.85:
        sys.exit(f"accuracy {acc:.4f} below 0.85")

    model.eval()
    models_dir = os.path.join(args.out, "models")
    os.makedirs(models_dir, exist_ok=True)
    example = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    pt_path = os.path.join(models_dir, "fashion_mnist.pt")
    traced.save(pt_path)

    onnx_path = os.path.join(models_dir, "fashion_mnist.onnx")
    torch.onnx.export(model, example, onnx_path, opset_version=11,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)

    with open(os.path.join(models_dir, "fashion_mnist_labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")

    # A few held-out images for the examples: the first test image of each
    # class that the exported model gets right, so the examples and their
    # tests can assert the exact label.
    from PIL import Image
    with torch.no_grad():
        pred = traced(x_test).argmax(1).numpy()
    sample_dir = os.path.join(args.out, "examples", "data", "fashion")
    os.makedirs(sample_dir, exist_ok=True)
    for cls in range(10):
        idx = int(np.nonzero((test_lbl == cls) & (pred == cls))[0][0])
        name = f"{idx:04d}_{LABELS[cls].replace('/', '-').replace(' ', '-').lower()}.png"
        Image.fromarray(test_img[idx], mode="L").save(os.path.join(sample_dir, name))

    for p in (pt_path, onnx_path):
        print(f"wrote {p} ({os.path.getsize(p)} bytes)")


if __name__ == "__main__":
    main()
