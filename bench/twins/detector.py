"""PyTorch twin of `smoothl1 bench` row 7: package detectors' training step.

The default network of package detectors (five-stage backbone with group norm, FPN width 32
over strides 8-32, one conv per head tower, 9 anchors) written with torch.nn.functional over
the Go side's own parameters, sigmoid focal loss (alpha, gamma) on the valid anchors plus
smooth_l1_loss(beta, sum) on the positives, both divided by max(1, positives);
clip_grad_norm_(clip), AdamW(lr, weight_decay). Run by the bench as

    /usr/bin/python3 detector.py FILE CLOCK

FILE (twinfile.py) holds meta {"threads", "lr", "weight_decay", "beta", "clip", "alpha",
"gamma"}, every parameter under its Go name (backbone.s0.down.weight, ..., head.box_deltas.bias)
and the batch: images [B, 3, S, S], cls [B*A, C], valid [B*A, 1], pos [P] (anchor indices as
float32), deltas [P, 4]. The protocol is regress.py's: one JSON line {"params", "loss0",
"loss1"}, then "run K" -> {"seconds": total}, "quit".

With the batch's sources in FILE (arrays pixels [B, 3, S, S] (bytes as float32) and lut
[3, 256]; meta "flips", "boxes", "labels", "crowd" per sample, "anchors" [A, 4] of one image,
"matcher" {"positive", "negative", "low_quality"}, "coder_weights"), a step does what
smoothl1's does every step: it draws the batch (each image's bytes through the normalisation
table, mirrored with its boxes where flipped, then stacked, as a Dataset and the default
collate would) and matches every image's anchors the way torchvision's RetinaNet does, one
image at a time (torchvision.ops.box_iou and the Matcher and BoxCoder of
torchvision.models.detection._utils, in float64), ignoring the anchors that overlap a crowd
box at the positive IoU and match nothing else. The hello line then also carries "targets":
{"anchors", "positives", "label_mismatches", "max_delta_diff"}, the twin's own targets of
the batch against the given cls, valid, pos and deltas; "run K given" runs steps on the given
targets instead (no data path, no matching).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torchvision.models.detection import _utils as det_utils  # noqa: E402
from torchvision.ops import box_iou  # noqa: E402

import twinfile  # noqa: E402


def main():
    path, clock = sys.argv[1], sys.argv[2]
    meta, arrays = twinfile.read(path)
    torch.set_num_threads(int(meta["threads"]))
    images = arrays.pop("images")
    cls_t = arrays.pop("cls")
    valid = arrays.pop("valid")
    pos = arrays.pop("pos").to(torch.int64)
    deltas = arrays.pop("deltas")
    sources = (arrays.pop("pixels"), arrays.pop("lut")) if "pixels" in arrays else None
    P = {k: v.requires_grad_() for k, v in arrays.items()}
    classes = cls_t.shape[1]

    def conv(x, name, stride, relu):
        w, b = P[name + ".weight"], P[name + ".bias"]
        y = F.conv2d(x, w, b, stride, w.shape[-1] // 2)
        if name + ".gn_weight" in P:
            y = F.group_norm(y, max(1, w.shape[0] // 8), P[name + ".gn_weight"], P[name + ".gn_bias"], 1e-5)
        return F.relu(y) if relu else y

    def head(p, kind, out, k):
        h, i = p, 0
        while f"head.{kind}{i}.weight" in P:
            h = conv(h, f"head.{kind}{i}", 1, True)
            i += 1
        o = conv(h, "head." + out, 1, False)
        return o.permute(0, 2, 3, 1).reshape(o.shape[0], -1, k)

    def forward(x):
        feats, h, i = [], x, 0
        while f"backbone.s{i}.down.weight" in P:
            h = conv(h, f"backbone.s{i}.down", 2, True)
            if f"backbone.s{i}.conv.weight" in P:
                h = conv(h, f"backbone.s{i}.conv", 1, True)
            if i >= 2:
                feats.append(h)
            i += 1
        tops = [None] * len(feats)
        for l in reversed(range(len(feats))):
            lat = conv(feats[l], f"fpn.lateral{l}", 1, False)
            if l < len(feats) - 1:
                lat = lat + F.interpolate(tops[l + 1], size=lat.shape[2:], mode="nearest")
            tops[l] = lat
        cls, box = [], []
        for l, top in enumerate(tops):
            p = conv(top, f"fpn.out{l}", 1, False)
            cls.append(head(p, "cls", "cls_logits", classes))
            box.append(head(p, "box", "box_deltas", 4))
        return torch.cat(cls, 1), torch.cat(box, 1)

    alpha, gamma, beta = meta["alpha"], meta["gamma"], meta["beta"]

    def loss_on(images, cls_t, valid, pos, deltas):
        norm = max(1.0, float(pos.numel()))
        cls, box = forward(images)
        logits = cls.reshape(-1, classes)
        ce = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="none")
        mod = (cls_t - torch.sigmoid(logits)).abs().pow(gamma)
        w = (cls_t * (2 * alpha - 1) + (1 - alpha)) * valid
        focal = (ce * mod * w).sum() / norm
        pred = box.reshape(-1, 4).index_select(0, pos)
        bl = F.smooth_l1_loss(pred, deltas, beta=beta, reduction="sum") / norm
        return focal + bl

    def given():
        return loss_on(images, cls_t, valid, pos, deltas)

    if sources is None:
        twinfile.serve("detector", list(P.values()), given, meta, clock)
        return
    batch = Batch(meta, *sources, classes)

    def drawn():
        return loss_on(*batch.targets(*batch.draw()))

    mine = batch.targets(*batch.draw())
    checked = {"anchors": int(valid.numel()), "positives": int(mine[3].numel()),
               "label_mismatches": int((mine[1] != cls_t).any(1).sum() + (mine[2] != valid).sum()),
               "max_delta_diff": -1.0}  # -1: the positives differ
    if mine[3].numel() == pos.numel():
        checked["label_mismatches"] += int((mine[3] != pos).sum())
        checked["max_delta_diff"] = float((mine[4] - deltas).abs().max()) if pos.numel() else 0.0
    twinfile.serve("detector", list(P.values()), drawn, meta, clock, modes={"given": given},
                   hello={"targets": checked})


class Batch:
    """The batch's data path and anchor matching, as a PyTorch user would write them."""

    def __init__(self, meta, pixels, lut, classes):
        self.pixels = pixels.to(torch.uint8)  # the loader keeps bytes
        self.lut = lut
        self.size = pixels.shape[-1]
        self.flips = meta["flips"]
        f64 = torch.float64
        self.boxes = [torch.tensor(b, dtype=f64).reshape(-1, 4) for b in meta["boxes"]]
        self.labels = [torch.tensor(l, dtype=torch.int64) for l in meta["labels"]]
        self.crowd = [torch.tensor(c, dtype=torch.bool) for c in meta["crowd"]]
        self.anchors = torch.tensor(meta["anchors"], dtype=f64).reshape(-1, 4)
        m = meta["matcher"]
        self.positive = m["positive"]
        self.matcher = det_utils.Matcher(m["positive"], m["negative"], allow_low_quality_matches=m["low_quality"])
        self.coder = det_utils.BoxCoder(weights=tuple(meta["coder_weights"]))
        self.classes = classes

    def draw(self):
        """The images, normalised and flipped, and each image's boxes in the flipped frame."""
        S = self.size
        images, boxes = [], []
        for i, flip in enumerate(self.flips):
            img = self.lut.gather(1, self.pixels[i].reshape(3, -1).long()).reshape(3, S, S)
            b = self.boxes[i]
            if flip:
                img = img.flip(-1)
                b = torch.stack([S - b[:, 2], b[:, 1], S - b[:, 0], b[:, 3]], 1)
            images.append(img)
            boxes.append(b)
        return torch.stack(images), boxes

    def targets(self, images, boxes):
        """images and the targets of the batch (cls, valid, pos, deltas) from its boxes."""
        A, C = self.anchors.shape[0], self.classes
        cls_t = torch.zeros(len(boxes) * A, C)
        valid = torch.ones(len(boxes) * A, 1)
        pos, deltas = [], []
        for i, b in enumerate(boxes):
            crowd = self.crowd[i]
            gt, labels = b[~crowd], self.labels[i][~crowd]
            matches = torch.full((A,), -1, dtype=torch.int64)
            if gt.shape[0] > 0:
                iou = box_iou(gt, self.anchors)
                # A box that overlaps no anchor gives no low-quality match (package boxes'
                # rule; torchvision's Matcher would match every anchor to it).
                keep = torch.nonzero(iou.max(1).values > 0).squeeze(1)
                if keep.numel() > 0:
                    m = self.matcher(iou[keep])
                    matches = torch.where(m >= 0, keep[m.clamp(min=0)], m)
            fg = torch.nonzero(matches >= 0).squeeze(1)
            base = i * A
            cls_t[base + fg, labels[matches[fg]]] = 1
            ignore = matches == det_utils.Matcher.BETWEEN_THRESHOLDS
            if crowd.any():
                ignore |= (matches < 0) & (box_iou(b[crowd], self.anchors).max(0).values >= self.positive)
            valid[base + torch.nonzero(ignore).squeeze(1)] = 0
            pos.append(base + fg)
            deltas.append(self.coder.encode_single(gt[matches[fg]], self.anchors[fg]))
        return images, cls_t, valid, torch.cat(pos), torch.cat(deltas).float()


if __name__ == "__main__":
    main()
