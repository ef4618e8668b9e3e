#!/usr/bin/python3
"""An independent reference for package cocoeval: COCO box AP/AR in numpy.

pycocotools is not installed here, so this script re-implements its COCOeval
(iouType "bbox") from the published algorithm (Lin et al., "Microsoft COCO", and the
evaluate/evaluateImg/accumulate/summarize steps of the cocoapi code), written the numpy
way (IoU as one broadcast, matching vectorised over the IoU thresholds, cumulative sums
and an accumulate-max envelope) so that it shares no structure with the Go code.

Re-run from the repository root with Debian's interpreter (numpy from Debian):

    /usr/bin/python3 detectors/cocoeval/testdata/ref_cocoeval.py

It first checks itself on small hand-computed cases (the same as the Go tests), then
overwrites detectors/cocoeval/testdata/golden.json with seeded random data sets:
inputs (gt, dets, image_ids, params) and the twelve summary numbers in pycocotools'
stats order. Commit the JSON: the Go tests read it and never run Python.

Conventions shared with pycocotools: boxes are [x, y, w, h]; a gt's size class uses its
"area" field, a detection's uses w*h; crowd gts are ignored and their IoU is
intersection / detection area; thresholds come from numpy.linspace.
"""

import json
import os

import numpy as np

SEED = 20240613
HERE = os.path.dirname(os.path.abspath(__file__))

IOU_THRS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
REC_THRS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)
MAX_DETS = (1, 10, 100)
AREAS = ((0.0, 1e10), (0.0, 32.0 ** 2), (32.0 ** 2, 96.0 ** 2), (96.0 ** 2, 1e10))


def box_iou(dt, gt, crowd):
    """[D, G] IoU of xywh boxes; for crowd gts the union is the detection's area."""
    dt = np.asarray(dt, np.float64).reshape(-1, 4)
    gt = np.asarray(gt, np.float64).reshape(-1, 4)
    w = np.minimum((dt[:, 2] + dt[:, 0])[:, None], (gt[:, 2] + gt[:, 0])[None, :]) - np.maximum(dt[:, 0][:, None], gt[:, 0][None, :])
    h = np.minimum((dt[:, 3] + dt[:, 1])[:, None], (gt[:, 3] + gt[:, 1])[None, :]) - np.maximum(dt[:, 1][:, None], gt[:, 1][None, :])
    overlap = (w > 0) & (h > 0)
    inter = np.where(overlap, w * h, 0.0)
    da = (dt[:, 2] * dt[:, 3])[:, None]
    union = np.where(np.asarray(crowd, bool)[None, :], da, da + (gt[:, 2] * gt[:, 3])[None, :] - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap, inter / np.where(overlap, union, 1.0), 0.0)


def match_image(ious, gt_ignore, crowd, thrs):
    """Greedy matching of score-sorted detections, all IoU thresholds at once.

    ious [D, G] with the gts already ordered non-ignored first. Returns matched [T, D]
    and matched-to-ignored [T, D].
    """
    T, (D, G) = len(thrs), ious.shape
    cap = np.minimum(thrs, 1 - 1e-10)[:, None]
    taken = np.zeros((T, G), bool)
    matched = np.zeros((T, D), bool)
    on_ignored = np.zeros((T, D), bool)
    if G == 0:
        return matched, on_ignored
    for d in range(D):
        free = ~taken | crowd[None, :]
        ok = free & (ious[d][None, :] >= cap)
        counted = ok & ~gt_ignore[None, :]
        pool = np.where(counted.any(axis=1, keepdims=True), counted, ok & gt_ignore[None, :])
        value = np.where(pool, ious[d][None, :], -np.inf)
        last_best = G - 1 - np.argmax(value[:, ::-1], axis=1)  # ties: the last gt
        hit = pool.any(axis=1)
        rows = np.nonzero(hit)[0]
        taken[rows, last_best[rows]] = True
        matched[:, d] = hit
        on_ignored[rows, d] = gt_ignore[last_best[rows]]
    return matched, on_ignored


def evaluate(gts, dts, image_ids=None, iou_thrs=IOU_THRS, rec_thrs=REC_THRS, max_dets=MAX_DETS, areas=AREAS):
    """The twelve summary numbers, in pycocotools' stats order (stats[0] at max_dets[2])."""
    if image_ids is None:
        image_ids = sorted({g["image_id"] for g in gts})
    images = sorted(set(image_ids))
    cats = sorted({g["category_id"] for g in gts})
    T, R, K, A, M = len(iou_thrs), len(rec_thrs), len(cats), len(areas), len(max_dets)
    precision = -np.ones((T, R, K, A, M))
    recall = -np.ones((T, K, A, M))
    for k, cat in enumerate(cats):
        # per image: (scores, matched [T, D], ignored [T, D], positives per area)
        per_area = [[] for _ in areas]
        for img in images:
            g = [x for x in gts if x["image_id"] == img and x["category_id"] == cat]
            d = [x for x in dts if x["image_id"] == img and x["category_id"] == cat]
            if not g and not d:
                continue
            scores = np.array([x["score"] for x in d], np.float64)
            order = np.argsort(-scores, kind="mergesort")[: max_dets[-1]]
            scores = scores[order]
            dbox = np.array([d[i]["bbox"] for i in order], np.float64).reshape(-1, 4)
            gbox = np.array([x["bbox"] for x in g], np.float64).reshape(-1, 4)
            crowd = np.array([bool(x["iscrowd"]) for x in g], bool)
            garea = np.array([x["area"] if x["area"] != 0 else x["bbox"][2] * x["bbox"][3] for x in g], np.float64)
            darea = dbox[:, 2] * dbox[:, 3]
            ious = box_iou(dbox, gbox, crowd)
            for a, (lo, hi) in enumerate(areas):
                gig = crowd | (garea < lo) | (garea > hi)
                gorder = np.argsort(gig, kind="mergesort")
                matched, on_ig = match_image(ious[:, gorder], gig[gorder], crowd[gorder], np.asarray(iou_thrs))
                out_of_range = (darea < lo) | (darea > hi)
                ignored = on_ig | (~matched & out_of_range[None, :])
                per_area[a].append((scores, matched, ignored, int(np.count_nonzero(~gig))))
        for a in range(A):
            entries = per_area[a]
            if not entries:
                continue
            npig = sum(e[3] for e in entries)
            if npig == 0:
                continue
            for m, md in enumerate(max_dets):
                sc = np.concatenate([e[0][:md] for e in entries])
                order = np.argsort(-sc, kind="mergesort")
                mt = np.concatenate([e[1][:, :md] for e in entries], axis=1)[:, order]
                ig = np.concatenate([e[2][:, :md] for e in entries], axis=1)[:, order]
                tp = np.cumsum(mt & ~ig, axis=1).astype(np.float64)
                fp = np.cumsum(~mt & ~ig, axis=1).astype(np.float64)
                rc = tp / npig
                pr = tp / (fp + tp + np.spacing(1))
                nd = sc.size
                recall[:, k, a, m] = rc[:, -1] if nd else 0.0
                envelope = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
                for t in range(T):
                    idx = np.searchsorted(rc[t], rec_thrs, side="left")
                    q = np.zeros(R)
                    inside = idx < nd
                    q[inside] = envelope[t, idx[inside]]
                    precision[t, :, k, a, m] = q
    def mean(s):
        s = s[s > -1]
        return float(np.mean(s)) if s.size else -1.0
    thr = np.asarray(iou_thrs)
    p50, p75 = thr == 0.5, thr == 0.75
    return [
        mean(precision[:, :, :, 0, 2]), mean(precision[p50][:, :, :, 0, 2]), mean(precision[p75][:, :, :, 0, 2]),
        mean(precision[:, :, :, 1, 2]), mean(precision[:, :, :, 2, 2]), mean(precision[:, :, :, 3, 2]),
        mean(recall[:, :, 0, 0]), mean(recall[:, :, 0, 1]), mean(recall[:, :, 0, 2]),
        mean(recall[:, :, 1, 2]), mean(recall[:, :, 2, 2]), mean(recall[:, :, 3, 2]),
    ]


def G(id, img, bbox, cat=1, area=None, crowd=False):
    return {"id": id, "image_id": img, "category_id": cat, "bbox": list(map(float, bbox)),
            "area": float(bbox[2] * bbox[3] if area is None else area), "iscrowd": int(crowd)}


def D(img, bbox, score, cat=1):
    return {"image_id": img, "category_id": cat, "bbox": list(map(float, bbox)), "score": float(score)}


def self_check():
    """The hand-computed cases of the Go tests; see cocoeval_test.go for the arithmetic."""
    def close(got, want):
        assert np.allclose(got, want, atol=1e-12), (got, want)
    m = 50  # a medium 50x50 box
    close(evaluate([G(1, 1, [10, 10, m, m])], [D(1, [10, 10, m, m], 0.9)]),
          [1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1])
    close(evaluate([G(1, 1, [10, 10, m, m])], [D(1, [200, 200, m, m], 0.9), D(1, [10, 10, m, m], 0.8)])[:3], [0.5] * 3)
    close(evaluate([G(1, 1, [10, 10, m, m]), G(2, 1, [100, 100, m, m])], [D(1, [10, 10, m, m], 0.9)])[0], 51 / 101)
    close(evaluate([G(1, 1, [10, 10, m, m])], [])[0], 0)
    sml = [G(1, 1, [0, 0, 20, 20]), G(2, 1, [100, 0, 50, 50]), G(3, 1, [200, 0, 100, 100])]
    got = evaluate(sml, [D(1, [0, 0, 20, 20], 0.9), D(1, [100, 0, 50, 50], 0.8), D(1, [200, 0, 100, 100], 0.7),
                         D(1, [400, 400, 10, 10], 0.95)])
    close(got[:6], [0.75, 0.75, 0.75, 0.5, 1, 1])
    crowd = [G(1, 1, [0, 0, 10, 10]), G(2, 1, [50, 50, 50, 50], crowd=True)]
    dts = [D(1, [0, 0, 10, 10], 0.9), D(1, [60, 60, 10, 10], 0.8), D(1, [70, 70, 10, 10], 0.7)]
    close(evaluate(crowd, dts)[0], 1)
    crowd[1]["iscrowd"] = 0
    close(evaluate(crowd, dts)[0], 51 / 101)


def rng_box(rng, size_class):
    lo, hi = {"small": (4, 31), "medium": (33, 95), "large": (97, 300)}[size_class]
    side = rng.uniform(lo, hi)
    aspect = rng.uniform(0.5, 2.0)
    w, h = side * np.sqrt(aspect), side / np.sqrt(aspect)
    x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
    return [round(x, 2), round(y, 2), round(w, 2), round(h, 2)]


def make_set(rng, n_images, n_cats, gt_per_image, fp_rate, crowd_rate, extra_images=0, many_dets=0, min_gt=0):
    """Random gts and detections; returns them with the image list a COCO file would
    hold (None when every image holds a gt, to exercise the default image list)."""
    gts, dts = [], []
    next_id = 1
    image_ids = list(range(100, 100 + 3 * n_images, 3))  # sparse, not starting at 0
    for img in image_ids:
        for _ in range(rng.integers(min_gt, gt_per_image + 1)):
            cat = int(rng.integers(1, n_cats + 1))
            cls = rng.choice(["small", "medium", "large"])
            box = rng_box(rng, cls)
            crowd = bool(rng.uniform() < crowd_rate)
            # a segmentation-like area: smaller than w*h, so the size class can differ
            area = box[2] * box[3] * rng.uniform(0.55, 1.0)
            if rng.uniform() < 0.05:
                area = float(rng.choice([32.0 ** 2, 96.0 ** 2]))  # on a range boundary
            gts.append(G(next_id, img, box, cat=cat, area=area, crowd=crowd))
            next_id += 1
            # noisy detections, sometimes two (a near duplicate), sometimes none
            n_det = rng.choice([0, 1, 1, 1, 2])
            for _ in range(n_det):
                jitter = rng.normal(0, 0.08, size=4) * np.array([box[2], box[3], box[2], box[3]])
                b = [box[0] + jitter[0], box[1] + jitter[1], max(box[2] + jitter[2], 1.0), max(box[3] + jitter[3], 1.0)]
                dcat = cat if rng.uniform() > 0.05 else int(rng.integers(1, n_cats + 2))  # a few wrong labels
                dts.append(D(img, [round(v, 2) for v in b], round(rng.uniform(0.05, 1.0), 2), cat=dcat))
            if n_det and rng.uniform() < 0.15:  # an exact duplicate, same score
                dts.append(dict(dts[-1]))
        for _ in range(rng.poisson(fp_rate)):
            cls = rng.choice(["small", "medium", "large"])
            dts.append(D(img, rng_box(rng, cls), round(rng.uniform(0.0, 0.9), 2), cat=int(rng.integers(1, n_cats + 1))))
        for _ in range(many_dets):  # beyond maxDets=100 in one image and category
            dts.append(D(img, rng_box(rng, "medium"), round(rng.uniform(0, 1), 1), cat=1))
    extra = list(range(1000, 1000 + extra_images))
    for img in extra:  # images without gt: their detections are false positives
        for _ in range(3):
            dts.append(D(img, rng_box(rng, "medium"), round(rng.uniform(0, 1), 2), cat=int(rng.integers(1, n_cats + 1))))
    if min_gt > 0 and not extra_images:
        return gts, dts, None
    return gts, dts, image_ids + extra + ([999] if extra_images else [])


def main():
    self_check()
    rng = np.random.default_rng(SEED)
    sets = []

    def add(name, gts, dts, image_ids, params=None):
        kw = {}
        if params:
            kw = {"iou_thrs": np.array(params["iou_thresholds"]), "max_dets": tuple(params["max_dets"])}
        stats = evaluate(gts, dts, image_ids, **kw)
        sets.append({"name": name, "gt": gts, "dets": dts, "image_ids": image_ids, "params": params, "stats": stats})

    g, d, ids = make_set(rng, 20, 3, 12, 2.0, 0.1)
    add("20 images, 3 categories, crowds, all sizes", g, d, ids)
    g, d, ids = make_set(rng, 15, 3, 10, 3.0, 0.15, extra_images=3)
    add("explicit image ids with gt-less images", g, d, ids)
    g, d, ids = make_set(rng, 3, 2, 8, 1.0, 0.0, many_dets=120, min_gt=1)
    add("more than 100 detections per image, tied scores", g, d, ids)
    g, d, ids = make_set(rng, 8, 3, 6, 2.0, 0.1)
    add("custom params", g, d, ids, {"iou_thresholds": [0.3, 0.5, 0.75], "max_dets": [1, 5, 20]})
    out = {"seed": SEED, "iou_thresholds": IOU_THRS.tolist(), "recall_thresholds": REC_THRS.tolist(), "sets": sets}
    path = os.path.join(HERE, "golden.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    for s in sets:
        print("%-50s %d gt %4d dets  AP %.4f AP50 %.4f AR100 %.4f" % (s["name"], len(s["gt"]), len(s["dets"]), s["stats"][0], s["stats"][1], s["stats"][8]))


if __name__ == "__main__":
    main()
