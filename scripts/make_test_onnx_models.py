#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Generates the small ONNX models that the opencv plugin's tests use.

No pretrained detection, segmentation, pose or depth model is available
offline, so these are tiny networks with hand-set weights whose outputs are
known exactly from their input. They find pure red, green and blue shapes on
a dark background (channel order RGB; pixels scaled to [0, 1]):

  color_classifier.onnx  [1,3,h,w] (h, w dynamic) -> [1,3] logits: the mean of
                         each channel (labels in colors.txt: red green blue)
  color_classifier_nhwc.onnx  the same on a [1,16,16,3] (NHWC) input
  gray_classifier.onnx   [1,1,28,28] -> [1,2] logits [0.5 - mean, mean - 0.5]
                         (labels in gray_labels.txt: dark bright)
  detect_boxes.onnx      [1,3,64,64] -> [3,6]: one row per channel c,
                         (x1, y1, x2, y2, score, class=c) where the box bounds
                         the pixels whose channel c exceeds 0.5, in input
                         pixels (x2, y2 exclusive); score 1 if there is any
                         such pixel, else 0
  detect_ssd.onnx        the same boxes as [1,1,3,7] rows
                         (0, class, score, x1/64, y1/64, x2/64, y2/64)
  segment.onnx           [1,3,48,48] -> [1,4,48,48] logits: class 0 (background)
                         is 0.5 everywhere, class c+1 is channel c
                         (labels in segment_labels.txt)
  pose.onnx              [1,3,64,64] -> [1,3,31,31] heatmaps:
                         maxpool2(avgpool3(x)) per channel, so keypoint k peaks
                         at the dot of colour k
  depth.onnx             [1,3,40,40] -> [1,1,20,20]: avgpool2 of the luminance
                         0.299 R + 0.587 G + 0.114 B

For each model it also writes a torch reference: <model>.ref.bin holds a
seeded random input and torch's output for it, so that the tests can check
that OpenCV's ONNX importer computes what torch computes. Format (little
endian): for the input, then the output: uint32 rank, rank x uint32 dims,
then the float32 values.

Usage: scripts/make_test_onnx_models.py [output_dir]
       (default: tests/opencv/fixtures next to this script's repository)
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

OPSET = 11


class ColorClassifier(nn.Module):
    def forward(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


class ColorClassifierNHWC(nn.Module):
    def forward(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), 1),
                             1)


class GrayClassifier(nn.Module):
    def forward(self, x):
        m = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)  # [1,1]
        return torch.cat([m * -1.0 + 0.5, m - 0.5], dim=1)


class ColorDetector(nn.Module):
    """Bounding box of the pixels above 0.5, per channel."""

    def __init__(self, h, w, ssd):
        super().__init__()
        self.h, self.w, self.ssd = h, w, ssd
        # Same-shape constants keep every elementwise op free of broadcasts
        # that OpenCV's importer may not handle.
        rw = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w)
        rh = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1)
        self.register_buffer("w_next", (rw + 1).expand(1, 3, 1, w).clone())
        self.register_buffer("w_left", (w - rw).expand(1, 3, 1, w).clone())
        self.register_buffer("h_next", (rh + 1).expand(1, 3, h, 1).clone())
        self.register_buffer("h_left", (h - rh).expand(1, 3, h, 1).clone())
        self.register_buffer(
            "cls", torch.arange(3, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x):
        h, w = self.h, self.w
        # clamp(v, 0, 1) as relu(v) - relu(v - 1): OpenCV 4.6 cannot import
        # the opset-11 Clip, whose bounds are inputs.
        v = (x - 0.5) * 1000.0
        m = F.relu(v) - F.relu(v - 1.0)
        cols = F.max_pool2d(m, kernel_size=(h, 1))  # [1,3,1,w]
        rows = F.max_pool2d(m, kernel_size=(1, w))  # [1,3,h,1]
        x2 = F.max_pool2d(cols * self.w_next, kernel_size=(1, w))
        x1 = F.max_pool2d(cols * self.w_left, kernel_size=(1, w)) * -1.0 + w
        y2 = F.max_pool2d(rows * self.h_next, kernel_size=(h, 1))
        y1 = F.max_pool2d(rows * self.h_left, kernel_size=(h, 1)) * -1.0 + h
        score = F.max_pool2d(cols, kernel_size=(1, w))  # [1,3,1,1]
        cls = score * 0.0 + self.cls
        if self.ssd:
            zero = score * 0.0
            out = torch.cat([zero, cls, score, x1 * (1.0 / w), y1 * (1.0 / h),
                             x2 * (1.0 / w), y2 * (1.0 / h)], dim=3)
            return out.reshape(1, 1, 3, 7)
        out = torch.cat([x1, y1, x2, y2, score, cls], dim=3)  # [1,3,1,6]
        return out.reshape(3, 6)


class Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        with torch.no_grad():
            self.conv.weight.zero_()
            self.conv.bias.zero_()
            self.conv.bias[0] = 0.5
            for c in range(3):
                self.conv.weight[c + 1, c, 0, 0] = 1.0

    def forward(self, x):
        return self.conv(x)


class Pose(nn.Module):
    def forward(self, x):
        return F.max_pool2d(F.avg_pool2d(x, 3, stride=1), 2)


class Depth(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 1, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(
                torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1))

    def forward(self, x):
        return F.avg_pool2d(self.conv(x), 2)


def write_tensor(f, t):
    t = t.detach().contiguous().float()
    f.write(struct.pack("<I", t.dim()))
    f.write(struct.pack("<%dI" % t.dim(), *t.shape))
    f.write(t.numpy().astype("<f4").tobytes())


def squares_input(gen, shape):
    """Noise below 0.4 with one bright rectangle in channels 0 and 1 (the
    detectors then see two boxes, and none in channel 2)."""
    x = torch.rand(shape, generator=gen) * 0.4
    h, w = shape[2], shape[3]
    for c in (0, 1):
        y0, x0 = [int(v) for v in torch.randint(0, h // 2, (2,),
                                                 generator=gen)]
        y1 = y0 + 3 + int(torch.randint(0, h // 2 - 3, (1,), generator=gen))
        x1 = x0 + 3 + int(torch.randint(0, w // 2 - 3, (1,), generator=gen))
        x[0, c, y0:y1, x0:x1] = 0.6 + 0.4 * torch.rand(
            (y1 - y0, x1 - x0), generator=gen)
    return x


def export(out_dir, name, model, shape, dynamic_hw=False, ref_shape=None,
           ref_input=None):
    model.eval()
    path = os.path.join(out_dir, name + ".onnx")
    dyn = None
    if dynamic_hw:
        dyn = {"image": {2: "height", 3: "width"}}
    torch.onnx.export(model, torch.zeros(shape), path, opset_version=OPSET,
                      input_names=["image"], output_names=["output"],
                      dynamic_axes=dyn, do_constant_folding=True)
    gen = torch.Generator().manual_seed(1234)
    if ref_input is not None:
        x = ref_input(gen, shape)
    else:
        x = torch.rand(ref_shape or shape, generator=gen)
    with torch.no_grad():
        y = model(x)
    with open(os.path.join(out_dir, name + ".ref.bin"), "wb") as f:
        write_tensor(f, x)
        write_tensor(f, y)
    print("wrote", path)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = (sys.argv[1] if len(sys.argv) > 1 else
               os.path.join(root, "tests", "opencv", "fixtures"))
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    export(out_dir, "color_classifier", ColorClassifier(), (1, 3, 32, 32),
           dynamic_hw=True, ref_shape=(1, 3, 17, 23))
    export(out_dir, "color_classifier_nhwc", ColorClassifierNHWC(),
           (1, 16, 16, 3))
    export(out_dir, "gray_classifier", GrayClassifier(), (1, 1, 28, 28))
    export(out_dir, "detect_boxes", ColorDetector(64, 64, False),
           (1, 3, 64, 64), ref_input=squares_input)
    export(out_dir, "detect_ssd", ColorDetector(64, 64, True), (1, 3, 64, 64),
           ref_input=squares_input)
    export(out_dir, "segment", Segmenter(), (1, 3, 48, 48))
    export(out_dir, "pose", Pose(), (1, 3, 64, 64))
    export(out_dir, "depth", Depth(), (1, 3, 40, 40))
    with open(os.path.join(out_dir, "colors.txt"), "w") as f:
        f.write("red\ngreen\nblue\n")
    with open(os.path.join(out_dir, "gray_labels.txt"), "w") as f:
        f.write("dark\nbright\n")
    with open(os.path.join(out_dir, "segment_labels.txt"), "w") as f:
        f.write("background\nred\ngreen\nblue\n")


if __name__ == "__main__":
    main()
