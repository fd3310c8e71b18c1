#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The main job: real images classified by a real model through every path.

Takes the first N images of the Fashion-MNIST test split (Debian's
dataset-fashion-mnist; the shipped model never saw them in training) and
classifies them with the shipped model (models/fashion_mnist.*) by
classify_batch (examples/classify_batch.c), unchanged, along four paths:

  torch       this process's runtime, the torch plugin (TorchScript)
  opencv      this process's runtime, the opencv plugin (the same network
              as ONNX, OpenCV DNN)
  agent       the rpc plugin -> a vaccel-agent on a unix socket -> torch
  vm          a QEMU guest booted by vaccel-vm (virtio-serial) -> a host
              vaccel-agent -> torch

then prints each image's labels against the ground truth, per path the
accuracy and the p50/p99 time of one classification call, and whether
every path gave the same label for every image (exit status 1 if not).

Last, text detection with a real pretrained model: PaddleOCR's PP-OCRv4
detector (models/ppocr_det) finds the lines of text in an image rendered
here, through the detect example (examples/image.c) and the opencv plugin;
the boxes it prints are matched against the lines drawn (exit status 1 if a
line has no box; scripts/ocr_step.py).

  scripts/main_job.py [--build build/default] [--images 100] [--no-vm] [--keep]
"""
import argparse
import gzip
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import ocr_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATASET = "/usr/share/datasets/fashion-mnist"
RESULT = re.compile(r"^result (\S+) (.+) (\d+)\r?$")


class Failure(Exception):
    pass


def say(text):
    print(text, flush=True)


def load_test_split(count):
    """The first @p count images and labels of the t10k split."""
    with gzip.open(os.path.join(DATASET, "t10k-images-idx3-ubyte.gz")) as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise Failure("t10k images: not an idx3 file")
        count = min(count, n)
        pixels = f.read(count * rows * cols)
    with gzip.open(os.path.join(DATASET, "t10k-labels-idx1-ubyte.gz")) as f:
        magic, _ = struct.unpack(">II", f.read(8))
        if magic != 2049:
            raise Failure("t10k labels: not an idx1 file")
        labels = f.read(count)
    return [(pixels[i * rows * cols:(i + 1) * rows * cols], labels[i], rows, cols) for i in range(count)]


def write_images(count, out_dir, names):
    """PNG files of the test images; {file name: true label}."""
    from PIL import Image  # python3-pil, installed by scripts/setup.sh
    os.makedirs(out_dir)
    truth = {}
    for i, (pixels, label, rows, cols) in enumerate(load_test_split(count)):
        name = "%04d.png" % i
        Image.frombytes("L", (cols, rows), pixels).save(os.path.join(out_dir, name))
        truth[name] = names[label]
    return truth


def model_dir(out_dir, model, cfg):
    """One directory with the model, its labels and its preprocessing: the
    resource classify_batch registers (the model carries its settings)."""
    os.makedirs(out_dir)
    models = os.path.join(ROOT, "models")
    for src, dst in ((model, os.path.basename(model)), ("fashion_mnist_labels.txt", "labels.txt"),
                     (cfg, "model.cfg")):
        shutil.copy(os.path.join(models, src), os.path.join(out_dir, dst))
    return out_dir


def parse_results(text, where):
    """{image file name: (label, microseconds)} from classify_batch output."""
    out = {}
    for line in text.splitlines():
        m = RESULT.match(line)
        if m:
            out[os.path.basename(m.group(1))] = (m.group(2), int(m.group(3)))
    if not out:
        raise Failure("%s: no results; its output:\n%s" % (where, text[-3000:]))
    return out


def run_batch(args, batch_args, env, where, timeout=300):
    cmd = [os.path.join(args.build, "bin", "classify_batch")] + batch_args
    full = dict(os.environ, **env)
    p = subprocess.run(cmd, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout)
    if p.returncode != 0:
        raise Failure("%s: classify_batch exited with %d:\n%s" % (where, p.returncode, p.stdout[-3000:]))
    return parse_results(p.stdout, where)


def start_agent(args, work, plugin):
    """A vaccel-agent on a unix socket with @p plugin and a policy that lets
    its tenant run TorchScript; (process, address)."""
    policy = os.path.join(work, "policy.toml")
    with open(policy, "w") as f:
        f.write('[default]\nops = ["image", "torch"]\n')
    sock = os.path.join(work, "agent.sock")
    log = open(os.path.join(work, "agent.log"), "w")
    proc = subprocess.Popen([os.path.join(args.build, "bin", "vaccel-agent"), "-a", "unix://" + sock,
                             "--policy", policy],
                            env=dict(os.environ, VACCEL_PLUGINS=plugin), stdout=subprocess.PIPE,
                            stderr=log, text=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        line = proc.stdout.readline()
        if "listening on" in line:
            return proc, "unix://" + sock, policy
        if line == "" and proc.poll() is not None:
            break
    proc.kill()
    raise Failure("vaccel-agent did not start; its log:\n" + open(log.name).read()[-3000:])


def run_vm(args, work, images, torch_dir, policy):
    """Builds a guest image with classify_batch, the model and the images,
    boots it with vaccel-vm and collects the results it prints."""
    image = os.path.join(work, "guest")
    files = ["--file", os.path.join(args.build, "guest", "bin", "classify_batch") + ":/usr/bin/classify_batch"]
    for d, dest in ((torch_dir, "/data/model"), (images, "/data/images")):
        for name in sorted(os.listdir(d)):
            files += ["--file", "%s:%s/%s" % (os.path.join(d, name), dest, name)]
    cache = os.path.join(args.build, "guest", "vm", "cache")
    say("      building the guest image (kernel from Debian's archive, cached in %s)" % cache)
    p = subprocess.run([os.path.join(ROOT, "guest", "build-initramfs.sh"), "--out", image, "--cache", cache]
                       + files, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if p.returncode != 0:
        raise Failure("guest image: build-initramfs.sh exited with %d:\n%s" % (p.returncode, p.stdout[-3000:]))
    cmd = [os.path.join(args.build, "bin", "vaccel-vm"), "-k", os.path.join(image, "vmlinuz"),
           "-i", os.path.join(image, "initrd.img"), "-p", "torch", "--agent-arg=--policy=" + policy,
           "--timeout", "300", "--", "/usr/bin/classify_batch", "/data/model", "/data/images"]
    say("      booting: " + " ".join(cmd[:1] + ["..."] + cmd[-4:]))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text, seen, last = "", 0, time.time()
    for line in proc.stdout:
        text += line
        if RESULT.match(line.rstrip("\n")):
            seen += 1
            if seen % 25 == 0 or time.time() - last > 5:
                say("      %d/%d images classified in the guest" % (seen, len(os.listdir(images))))
                last = time.time()
    rc = proc.wait()
    if rc != 0:
        raise Failure("vm: vaccel-vm exited with %d:\n%s" % (rc, text[-3000:]))
    return parse_results(text, "vm")


def percentile(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * len(s) + 0.5)) - 1))]


PATHS = [
    ("torch", "this process: runtime -> torch plugin (libtorch, CPU)"),
    ("opencv", "this process: runtime -> opencv plugin (OpenCV DNN, CPU)"),
    ("agent", "rpc plugin -> unix socket -> vaccel-agent -> torch plugin"),
    ("vm", "QEMU guest (TCG) -> virtio-serial -> host vaccel-agent -> torch plugin"),
]


def report(truth, results):
    paths = [p for p, _ in PATHS if p in results]
    names = sorted(truth)
    say("\nPer image (label from each path; * marks a label that is not the truth):")
    head = "%-9s %-12s" % ("image", "truth") + "".join(" %-12s" % p for p in paths)
    say(head)
    say("-" * len(head))
    for n in names:
        row = "%-9s %-12s" % (n[:-4], truth[n])
        for p in paths:
            label = results[p][n][0]
            row += " %-12s" % ((label + ("" if label == truth[n] else " *"))[:12])
        say(row)
    say("\nPer path (%d images; the time of one classification call as its caller saw it: the first"
        "\ncall also loads the model, p50 and p99 are over the other calls):" % len(names))
    say("%-7s %9s %9s %9s %9s  %s" % ("path", "accuracy", "first ms", "p50 us", "p99 us", "where it ran"))
    for p, where in PATHS:
        if p not in results:
            continue
        r = results[p]
        correct = sum(1 for n in names if r[n][0] == truth[n])
        times = [r[n][1] for n in names]
        rest = times[1:] or times
        say("%-7s %8.1f%% %9.1f %9d %9d  %s" % (p, 100.0 * correct / len(names), times[0] / 1000.0,
                                                percentile(rest, 50), percentile(rest, 99), where))
    differ = [n for n in names if len({results[p][n][0] for p in paths}) > 1]
    if differ:
        say("\nPATHS DISAGREE on %d of %d images: %s" % (len(differ), len(names), ", ".join(differ)))
        return False
    say("\nAll %d paths gave the same label for every one of the %d images." % (len(paths), len(names)))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "default"))
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--no-vm", action="store_true", help="skip the QEMU guest (say so in the output)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    for tool in ("classify_batch", "detect", "vaccel-agent", "vaccel-vm"):
        if not os.path.exists(os.path.join(args.build, "bin", tool)):
            sys.exit("main job: %s/bin/%s is missing: build first (cmake --preset default && "
                     "cmake --build --preset default)" % (args.build, tool))
    work = tempfile.mkdtemp(prefix="vaccel-main-job-")
    steps = 5 if args.no_vm else 6
    results = {}
    started = time.time()
    agent = None
    try:
        with open(os.path.join(ROOT, "models", "fashion_mnist_labels.txt")) as f:
            names = [l.strip() for l in f if l.strip()]
        say("[1/%d] %d images of the Fashion-MNIST test split (%s)" % (steps, args.images, DATASET))
        images = os.path.join(work, "images")
        truth = write_images(args.images, images, names)
        torch_dir = model_dir(os.path.join(work, "torch-model"), "fashion_mnist.pt", "fashion_mnist_torch.cfg")
        opencv_dir = model_dir(os.path.join(work, "opencv-model"), "fashion_mnist.onnx",
                               "fashion_mnist_opencv.cfg")
        for k, (path, plugin, model) in enumerate((("torch", "torch", torch_dir),
                                                   ("opencv", "opencv", opencv_dir)), start=2):
            t0 = time.time()
            results[path] = run_batch(args, [model, images], {"VACCEL_PLUGINS": "libvaccel-%s.so" % plugin},
                                      path)
            say("[%d/%d] %-6s done in %.1f s" % (k, steps, path, time.time() - t0))
        t0 = time.time()
        agent, address, policy = start_agent(args, work, "libvaccel-torch.so")
        results["agent"] = run_batch(args, [torch_dir, images],
                                     {"VACCEL_PLUGINS": "libvaccel-rpc.so", "VACCEL_RPC_ADDRESS": address}, "agent")
        say("[4/%d] agent  done in %.1f s (%s)" % (steps, time.time() - t0, address))
        if args.no_vm:
            say("(--no-vm: the QEMU guest path was not run)")
        else:
            t0 = time.time()
            say("[5/%d] vm: QEMU guest through vaccel-vm" % steps)
            results["vm"] = run_vm(args, work, images, torch_dir, policy)
            say("[5/%d] vm     done in %.1f s" % (steps, time.time() - t0))
        for p, r in results.items():
            missing = sorted(set(truth) - set(r))
            if missing:
                raise Failure("%s: no result for %d images (%s...)" % (p, len(missing), missing[0]))
        same = report(truth, results)
        say("\n[%d/%d] %s" % (steps, steps, ocr_step.TITLE))
        found = ocr_step.run(args.build, os.path.join(work, "ocr"), args.keep, say)
        say("\nmain job: %.0f s" % (time.time() - started))
        return 0 if same and found else 1
    except (Failure, ocr_step.Failure, subprocess.TimeoutExpired) as e:
        say("main job failed: %s" % e)
        return 1
    finally:
        if agent is not None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(10)
            except subprocess.TimeoutExpired:
                agent.kill()
        if args.keep:
            say("working directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
