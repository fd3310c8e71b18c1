# SPDX-License-Identifier: Apache-2.0
"""The main job's last step: text detection with a real pretrained model.

Renders a few lines of text (python3-pil, DejaVu Sans from Debian's
fonts-dejavu-core) at known places on a white image with a grey rule that is
not text, runs the detect example (examples/image.c) on it natively with the
opencv plugin and PaddleOCR's PP-OCRv4 detector (models/ppocr_det: the ONNX
model, its labels and its model.cfg, registered as one directory resource),
and matches the boxes the plugin reports to the lines drawn: a line is found
when a box overlaps its glyphs with IoU > 0.5. The step fails unless every
line is found. The result image, with the boxes drawn by the plugin, is kept
in the job's working directory (main_job.py --keep keeps that).
"""
import os
import re
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "models", "ppocr_det")
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # fonts-dejavu-core
TITLE = "text detection with PaddleOCR's detector (opencv plugin)"
MIN_IOU = 0.5

# (top-left corner, font size in pixels, text) on a 640x480 image.
LINES = [
    ((40, 40), 40, "vAccel text detection"),
    ((40, 150), 34, "PaddleOCR on OpenCV DNN"),
    ((260, 260), 28, "invoice total: 42.50 EUR"),
]
RULE = (40, 400, 600, 403)  # a grey bar: not text

RESULT = re.compile(r"^detection result: (\d+) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$")
KEPT = re.compile(r"^result kept: (.*\.png)$")


class Failure(Exception):
    pass


def render(path):
    """The test image; [(text, glyph box (x1, y1, x2, y2))]."""
    from PIL import Image, ImageDraw, ImageFont  # python3-pil
    if not os.path.exists(FONT):
        raise Failure("%s is missing: install fonts-dejavu-core (scripts/setup.sh)" % FONT)
    img = Image.new("RGB", (640, 480), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    lines = []
    for xy, size, text in LINES:
        font = ImageFont.truetype(FONT, size)
        draw.text(xy, text, font=font, fill=(0, 0, 0))
        lines.append((text, draw.textbbox(xy, text, font=font)))
    draw.rectangle(RULE, fill=(170, 170, 170))
    img.save(path)
    return lines


def detect(build, image, out_dir):
    """Runs the detect example; (boxes [(score, (x1, y1, x2, y2))], kept
    result image, seconds)."""
    cmd = [os.path.join(build, "bin", "detect"), image, "1", MODEL]
    env = dict(os.environ, VACCEL_PLUGINS="libvaccel-opencv.so", EXAMPLE_RESULTS_DIR=out_dir)
    t0 = time.time()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    seconds = time.time() - t0
    if p.returncode != 0:
        raise Failure("detect exited with %d:\n%s" % (p.returncode, p.stdout[-3000:]))
    boxes, kept = [], None
    for line in p.stdout.splitlines():
        m = RESULT.match(line)
        if m:
            boxes.append((float(m.group(2)), tuple(float(m.group(i)) for i in range(3, 7))))
        m = KEPT.match(line)
        if m:
            kept = m.group(1)
    if kept is None:
        raise Failure("detect kept no result image; its output:\n%s" % p.stdout[-3000:])
    return boxes, kept, seconds


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def fmt(box):
    return "%d,%d-%d,%d" % tuple(round(v) for v in box)


def run(build, work, keep, say):
    """The step; True when every line drawn has a box."""
    os.makedirs(work)
    image = os.path.join(work, "text.png")
    lines = render(image)
    boxes, kept, seconds = detect(build, image, work)
    say("      detect text.png 1 models/ppocr_det (VACCEL_PLUGINS=libvaccel-opencv.so): "
        "%d boxes in %.1f s" % (len(boxes), seconds))
    say("      %-28s %-18s %-18s %6s %5s" % ("line drawn (DejaVu Sans)", "glyphs", "box found", "score",
                                             "IoU"))
    used, found = set(), 0
    for text, glyphs in lines:
        best = max(range(len(boxes)), key=lambda i: iou(boxes[i][1], glyphs), default=None)
        overlap = iou(boxes[best][1], glyphs) if best is not None else 0.0
        if overlap <= MIN_IOU:
            say("      %-28s %-18s %-18s %6s %5.2f  NOT FOUND" % ("'%s'" % text, fmt(glyphs), "-", "-",
                                                                 overlap))
            continue
        found += 1
        used.add(best)
        score, box = boxes[best]
        say("      %-28s %-18s %-18s %6.3f %5.2f" % ("'%s'" % text, fmt(glyphs), fmt(box), score, overlap))
    extra = [fmt(b) for i, (_, b) in enumerate(boxes) if i not in used]
    say("      boxes on no line: %s" % (", ".join(extra) if extra else "none"))
    say("      %d of %d lines found (IoU > %.1f)%s" % (found, len(lines), MIN_IOU,
                                                 "" if found == len(lines) else ": TEXT DETECTION FAILED"))
    say("      result image with the boxes drawn: %s%s"
        % (kept, "" if keep else " (removed at exit; --keep keeps it)"))
    return found == len(lines)
