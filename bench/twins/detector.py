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
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

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
    norm = max(1.0, float(pos.numel()))

    def loss_of():
        cls, box = forward(images)
        logits = cls.reshape(-1, classes)
        ce = F.binary_cross_entropy_with_logits(logits, cls_t, reduction="none")
        mod = (cls_t - torch.sigmoid(logits)).abs().pow(gamma)
        w = (cls_t * (2 * alpha - 1) + (1 - alpha)) * valid
        focal = (ce * mod * w).sum() / norm
        pred = box.reshape(-1, 4).index_select(0, pos)
        bl = F.smooth_l1_loss(pred, deltas, beta=beta, reduction="sum") / norm
        return focal + bl

    twinfile.serve("detector", list(P.values()), loss_of, meta, clock)


if __name__ == "__main__":
    main()
