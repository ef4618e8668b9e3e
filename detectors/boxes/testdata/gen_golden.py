#!/usr/bin/python3
"""Golden values for package boxes, computed with torchvision (0.14, torch 1.13, Debian).

Re-run from the repository root with Debian's interpreter (torch, torchvision and numpy
come from Debian's packages there, not from pip):

    /usr/bin/python3 detectors/boxes/testdata/gen_golden.py

It overwrites detectors/boxes/testdata/golden.json. The output is deterministic (seeded
numpy generator, CPU torch, float64 tensors throughout so the Go side can compare to
1e-12); commit it: the Go tests read it and never run Python.

Contents (boxes are [x1, y1, x2, y2] in pixels, matrices are flattened row-major):
  iou       torchvision.ops.box_iou(a, b) as [len(a), len(b)]; null where torchvision
            gives NaN (0/0: both boxes of zero area, union 0)
  nms       torchvision.ops.nms(boxes, scores, t) for each threshold t
  batched   torchvision.ops.batched_nms(boxes, scores, classes, t); "path" says which
            implementation torchvision took (coordinate trick up to 1000 boxes on CPU,
            per-class loop above), "torch_sort_stable" whether its output keeps equal
            scores in index order (the per-class path ends with an unstable sort)
  coder     BoxCoder(weights).encode_single(gt, anchors) and .decode_single(deltas,
            anchors), bbox_xform_clip = log(1000/16)
  matcher   Matcher(high, low, allow_low_quality_matches)(box_iou(gt, anchors)),
            with the quality matrix stored so the Go test feeds the Matcher alone
The random sets include scores with ties, exactly duplicated boxes, zero-area boxes,
boxes touching at an edge or a corner, and empty inputs.
"""

import json
import math
import os

import numpy as np
import torch
import torchvision
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.ops import batched_nms, box_iou, nms

SEED = 20240612
HERE = os.path.dirname(os.path.abspath(__file__))
F64 = torch.float64
rng = np.random.default_rng(SEED)


def t(x):
    return torch.tensor(np.asarray(x, dtype=np.float64).reshape(-1, 4), dtype=F64)


def floats(x):
    """A flat list of floats with NaN as None (JSON has no NaN)."""
    out = []
    for v in np.asarray(x, dtype=np.float64).reshape(-1).tolist():
        out.append(None if math.isnan(v) else v)
    return out


def boxes_list(x):
    return np.asarray(x, dtype=np.float64).reshape(-1, 4).tolist()


def random_boxes(n, extent=100.0, min_wh=1.0, max_wh=40.0, step=None):
    xy = rng.uniform(0, extent, size=(n, 2))
    wh = rng.uniform(min_wh, max_wh, size=(n, 2))
    b = np.concatenate([xy, xy + wh], axis=1)
    if step is not None:
        b = np.round(b / step) * step
    return b


def clustered_boxes(n, clusters, jitter, step=0.5):
    """Boxes jittered around a few centres, so that NMS has work to do."""
    centres = random_boxes(clusters, extent=200.0, min_wh=10.0, max_wh=60.0)
    pick = rng.integers(0, clusters, size=n)
    b = centres[pick] + rng.normal(0, jitter, size=(n, 4))
    b[:, 2] = np.maximum(b[:, 2], b[:, 0] + 1)
    b[:, 3] = np.maximum(b[:, 3], b[:, 1] + 1)
    return np.round(b / step) * step


# Hand-made boxes: touching at an edge or corner, nested, duplicated, zero-area.
SPECIAL = np.array([
    [0, 0, 10, 10],
    [10, 0, 20, 10],    # touches box 0 along x = 10
    [10, 10, 20, 20],   # touches box 0 at the corner (10, 10)
    [0, 0, 10, 10],     # duplicate of box 0
    [2, 2, 8, 8],       # inside box 0
    [5, 5, 5, 15],      # zero width
    [5, 5, 15, 5],      # zero height
    [3, 3, 3, 3],       # a point
    [3, 3, 3, 3],       # the same point again
    [0, 0, 0, 0],       # a point on a corner of box 0
    [5, 0, 15, 10],     # half of box 0, half of box 1
], dtype=np.float64)


def iou_cases():
    cases = []

    def add(name, a, b):
        a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
        cases.append({"name": name, "a": boxes_list(a), "b": boxes_list(b),
                      "iou": floats(box_iou(t(a), t(b)))})

    add("random 20x30", random_boxes(20), random_boxes(30))
    add("random quarter-pixel 25x25", random_boxes(25, step=0.25), random_boxes(25, step=0.25))
    add("special x special", SPECIAL, SPECIAL)
    add("special x random", SPECIAL, random_boxes(12, extent=20, max_wh=10, step=0.5))
    add("empty x random", np.zeros((0, 4)), random_boxes(3))
    add("random x empty", random_boxes(3), np.zeros((0, 4)))
    add("empty x empty", np.zeros((0, 4)), np.zeros((0, 4)))
    return cases


THRESHOLDS = [0.0, 0.3, 0.5, 0.7, 1.0]


def nms_cases():
    cases = []

    def add(name, boxes, scores):
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64)
        keep = [nms(t(boxes), torch.tensor(scores, dtype=F64), th).tolist() for th in THRESHOLDS]
        cases.append({"name": name, "boxes": boxes_list(boxes), "scores": scores.tolist(),
                      "thresholds": THRESHOLDS, "keep": keep})

    b = clustered_boxes(60, clusters=8, jitter=4.0)
    s = np.round(rng.uniform(0, 1, size=60) * 20) / 20  # steps of 0.05: many ties
    # exact duplicates: some with the same score as their original, some not
    b = np.concatenate([b, b[:6]])
    s = np.concatenate([s, s[:3], s[3:6] * 0.5])
    add("clusters with tied scores and duplicates", b, s)
    add("random continuous scores", random_boxes(40, extent=60), rng.uniform(0, 1, size=40))
    add("special boxes, tied scores", SPECIAL, np.array([0.9, 0.9, 0.9, 0.9, 0.8, 0.7, 0.7, 0.6, 0.6, 0.5, 0.9]))
    dup = np.tile(np.array([[1.0, 2.0, 11.0, 12.0]]), (25, 1))
    add("25 identical boxes, one score", dup, np.full(25, 0.5))
    many = clustered_boxes(300, clusters=6, jitter=6.0)
    add("300 boxes, 4 distinct scores", many, rng.integers(0, 4, size=300) / 4.0)
    add("one box", [[0, 0, 1, 1]], [0.3])
    add("empty", np.zeros((0, 4)), np.zeros(0))
    return cases


def batched_cases():
    cases = []

    def add(name, boxes, scores, classes, th):
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64)
        classes = np.asarray(classes, np.int64)
        keep = batched_nms(t(boxes), torch.tensor(scores, dtype=F64), torch.tensor(classes), th).tolist()
        ks = scores[keep]
        ordered = sorted(keep, key=lambda i: (-scores[i], i))
        cases.append({"name": name, "boxes": boxes_list(boxes), "scores": scores.tolist(),
                      "classes": classes.tolist(), "threshold": th, "keep": keep,
                      "path": "coordinate_trick" if boxes.size <= 4000 else "per_class",
                      "torch_sort_stable": keep == ordered})
        assert np.all(ks[:-1] >= ks[1:]) if len(ks) > 1 else True

    b = clustered_boxes(120, clusters=6, jitter=5.0)
    s = np.round(rng.uniform(0, 1, size=120) * 10) / 10
    c = rng.choice([0, 1, 2, 7], size=120)
    add("120 boxes, classes {0,1,2,7}, tied scores", b, s, c, 0.5)
    add("120 boxes, threshold 0.3", b, s, c, 0.3)
    sp = np.concatenate([SPECIAL, SPECIAL])
    add("special boxes twice in two classes", sp, np.full(len(sp), 0.5), [0] * len(SPECIAL) + [1] * len(SPECIAL), 0.5)
    big = clustered_boxes(1100, clusters=12, jitter=8.0)
    add("1100 boxes, 5 classes (per-class path)", big, np.round(rng.uniform(0, 1, size=1100) * 50) / 50,
        rng.integers(0, 5, size=1100), 0.5)
    add("empty", np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5)
    return cases


def coder_cases():
    cases = []
    n = 40
    anchors = random_boxes(n, extent=300, min_wh=4, max_wh=120)
    gt = anchors + rng.normal(0, 10, size=(n, 4))
    gt[:, 2] = np.maximum(gt[:, 2], gt[:, 0] + 2)
    gt[:, 3] = np.maximum(gt[:, 3], gt[:, 1] + 2)
    deltas = rng.normal(0, 1, size=(n, 4))
    # large widths/heights to hit the scale clamp, and large negative ones
    deltas[0, 2:] = [8.0, 20.0]
    deltas[1, 2:] = [-20.0, 4.1]
    deltas[2, 2:] = [100.0, 100.0]
    deltas[3, 2:] = [-100.0, -5.0]
    for w in [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 0.5, 3.0, 0.25)]:
        coder = BoxCoder(w)
        dw = deltas.copy()
        dw[:, 2:] *= np.array(w[2:])  # scale so the clamp still bites after dividing by w
        enc = coder.encode_single(t(gt), t(anchors))
        dec = coder.decode_single(torch.tensor(dw, dtype=F64), t(anchors))
        cases.append({"name": "weights %s" % (w,), "weights": list(w),
                      "scale_clamp": coder.bbox_xform_clip,
                      "anchors": boxes_list(anchors), "gt": boxes_list(gt),
                      "encoded": floats(enc), "deltas": floats(dw), "decoded": floats(dec)})
    return cases


MATCHERS = [(0.5, 0.4, False), (0.5, 0.4, True), (0.7, 0.3, True), (0.5, 0.5, False), (0.5, 0.5, True)]


def grid_anchors(stride, size, h, w):
    out = []
    for y in range(h):
        for x in range(w):
            cx, cy = (x + 0.5) * stride, (y + 0.5) * stride
            for r in (0.5, 1.0, 2.0):
                aw = math.sqrt(size * size / r)
                ah = r * aw
                out.append([cx - aw / 2, cy - ah / 2, cx + aw / 2, cy + ah / 2])
    return np.array(out)


def matcher_cases():
    cases = []

    def add(name, gt, anchors, quirk=False):
        gt, anchors = np.asarray(gt, np.float64).reshape(-1, 4), np.asarray(anchors, np.float64).reshape(-1, 4)
        q = box_iou(t(gt), t(anchors))
        results = []
        for hi, lo, allow in MATCHERS:
            m = Matcher(hi, lo, allow)(q.clone())
            results.append({"positive": hi, "negative": lo, "allow_low_quality": allow, "matches": m.tolist()})
        cases.append({"name": name, "n_gt": len(gt), "n_anchors": len(anchors), "iou": floats(q),
                      "zero_iou_gt": quirk, "results": results})

    anchors = grid_anchors(8, 16.0, 8, 8)  # 192 anchors on a 64x64 image
    gt = random_boxes(6, extent=48, min_wh=6, max_wh=30)
    add("6 random gt, 8x8 grid of 3 anchors", gt, anchors)
    gt2 = np.concatenate([gt[:3], gt[:1], [[20, 20, 36, 36]]])  # duplicate gt: ties across gt rows
    add("duplicated gt and a gt equal to an anchor", gt2, anchors)
    gt3 = np.array([[4, 4, 20, 20], [4, 4, 20, 20], [30.5, 2.5, 33.5, 5.5]])
    add("identical gt and a tiny gt", gt3, anchors)
    # A gt that overlaps no anchor: torchvision's low-quality step then matches every
    # anchor with IoU 0 to it (all of them tie at 0) to that anchor's argmax gt.
    gt4 = np.array([[8, 8, 24, 24], [500, 500, 520, 520]])
    add("gt overlapping no anchor", gt4, anchors, quirk=True)
    gt5 = np.array([[10, 10, 30, 30], [12, 12, 12, 40]])  # the second has zero width
    add("zero-width gt", gt5, anchors, quirk=True)
    return cases


def main():
    torch.set_grad_enabled(False)
    out = {
        "torch_version": torch.__version__,
        "torchvision_version": torchvision.__version__,
        "seed": SEED,
        "iou": iou_cases(),
        "nms": nms_cases(),
        "batched": batched_cases(),
        "coder": coder_cases(),
        "matcher": matcher_cases(),
    }
    path = os.path.join(HERE, "golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
