#!/usr/bin/python3
"""Writes curves_torch.csv: PyTorch's values and autograd derivatives of the fixed-shape losses
on the grid `smoothl1 curves` uses by default (601 points over [-3, 3]), in float64.

Run with Debian's python3-torch (the libtorch 1.13 this project builds on):
    /usr/bin/python3 cmd/smoothl1/testdata/gen_curves.py > cmd/smoothl1/testdata/curves_torch.csv
Our L2 is ½d², so it is written as mse_loss / 2.
"""
import csv
import sys

import torch
import torch.nn.functional as F

FROM, TO, POINTS = -3.0, 3.0, 601


def grid():
    step = (TO - FROM) / (POINTS - 1)
    xs = [FROM + i * step for i in range(POINTS)]
    xs[-1] = TO
    return xs


def losses():
    yield "l1", lambda x, y: F.l1_loss(x, y, reduction="none")
    yield "l2", lambda x, y: F.mse_loss(x, y, reduction="none") / 2
    for beta in ["0", "1e-06", "0.1111111111111111", "0.5", "1", "2", "5"]:
        b = float(beta)
        yield f"smoothl1:beta={beta}", lambda x, y, b=b: F.smooth_l1_loss(x, y, reduction="none", beta=b)
    for delta in ["0.5", "1", "2"]:
        d = float(delta)
        yield f"huber:delta={delta}", lambda x, y, d=d: F.huber_loss(x, y, reduction="none", delta=d)


def main():
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["loss", "x", "value", "grad"])
    xs = grid()
    for name, fn in losses():
        x = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        y = torch.zeros_like(x)
        v = fn(x, y)
        v.sum().backward()
        for xi, vi, gi in zip(xs, v.tolist(), x.grad.tolist()):
            w.writerow([name, repr(xi), repr(vi), repr(gi)])


if __name__ == "__main__":
    main()
