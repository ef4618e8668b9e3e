#!/usr/bin/python3
"""Golden values for package static, computed with PyTorch (torch 1.13, Debian).

Re-run from the repository root with Debian's interpreter (torch and numpy come from
Debian's packages there, not from pip):

    /usr/bin/python3 static/testdata/gen_golden.py

It overwrites static/testdata/golden_float64.json and golden_float32.json. The output is
deterministic (seeded numpy generator, CPU torch); commit the JSON files: the Go tests read
them and never run Python.

Per dtype, each case is one loss configuration evaluated on the same kind of inputs:
  pred, target        inputs (float32 values are stored as exact decimal float64 literals)
  weights             per-element weights in [0, 2], some exactly 0
  value[r], grad[r]   torch's loss for reduction r in none/mean/sum, and the autograd
                      gradient w.r.t. pred (for none: backward of ones, i.e. of the sum)
  wvalue[r], wgrad[r] the same for (loss_none * weights) reduced by hand: .mean() divides
                      by the element count, as torch's mean does
Losses and the torch expression each case records:
  l1          F.l1_loss
  l2          0.5 * F.mse_loss            (package static's L2 is half the squared error)
  smoothl1    F.smooth_l1_loss(beta=b)    b in {0, 1e-6, 1/9, 0.5, 1, 2, 5}
  huber       F.huber_loss(delta=d)       d in {0.5, 1, 2}
  balancedl1  mmdetection's balanced_l1_loss formula written in torch ops (autograd)
Each input set holds residuals on the scale of the parameter and on the scale 1..3, points
with d = 0 exactly and points with |d| == parameter exactly (checked in the dtype).
Also recorded: torch's mean over an empty input (NaN; static returns 0 on purpose).
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

SEED = 20240611
N_RANDOM = 48  # random residuals per case, plus the special points
HERE = os.path.dirname(os.path.abspath(__file__))
REDUCTIONS = ("none", "mean", "sum")


def balanced_l1(pred, target, alpha, gamma, beta, reduction):
    # mmdetection/models/losses/balanced_l1_loss.py, element-wise part.
    diff = torch.abs(pred - target)
    b = math.e ** (gamma / alpha) - 1
    loss = torch.where(
        diff < beta,
        alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff,
        gamma * diff + gamma / b - alpha * beta,
    )
    return reduce(loss, reduction)


def reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction)


def configs():
    yield "l1", {}, 1.0, lambda p, t, r: F.l1_loss(p, t, reduction=r), "F.l1_loss"
    yield "l2", {}, 1.0, lambda p, t, r: 0.5 * F.mse_loss(p, t, reduction=r), "0.5*F.mse_loss"
    for beta in (0.0, 1e-6, 1.0 / 9.0, 0.5, 1.0, 2.0, 5.0):
        yield ("smoothl1", {"beta": beta}, beta,
               lambda p, t, r, beta=beta: F.smooth_l1_loss(p, t, reduction=r, beta=beta),
               "F.smooth_l1_loss(beta=%r)" % beta)
    for delta in (0.5, 1.0, 2.0):
        yield ("huber", {"delta": delta}, delta,
               lambda p, t, r, delta=delta: F.huber_loss(p, t, reduction=r, delta=delta),
               "F.huber_loss(delta=%r)" % delta)
    for alpha, gamma, beta in ((0.5, 1.5, 1.0), (0.5, 1.5, 0.11), (1.0, 2.0, 2.0)):
        yield ("balancedl1", {"alpha": alpha, "gamma": gamma, "beta": beta}, beta,
               lambda p, t, r, a=alpha, g=gamma, b=beta: balanced_l1(p, t, a, g, b, r),
               "mmdetection balanced_l1_loss(alpha=%r, gamma=%r, beta=%r)" % (alpha, gamma, beta))


def inputs(rng, scale, np_dtype):
    """pred, target and weights as numpy arrays of np_dtype."""
    target = rng.normal(0.0, 1.0, N_RANDOM).astype(np_dtype)
    d = rng.normal(0.0, 2.0, N_RANDOM)
    if scale > 0:
        # Half of the residuals on the scale of the parameter, so both branches are hit.
        d[: N_RANDOM // 2] = scale * rng.uniform(-2.0, 2.0, N_RANDOM // 2)
    pred = (target.astype(np.float64) + d).astype(np_dtype)
    extra_p, extra_t = [], []
    # d = 0 exactly, at zero and away from it.
    for t in (0.0, 0.75, -1.5):
        extra_p.append(t)
        extra_t.append(t)
    # |d| == scale exactly in this dtype (the kink of Smooth L1, Huber, Balanced L1).
    s = np_dtype(scale)
    for t in (0.0, 0.5, -0.25, 1.0, 3.0):
        for sign in (1, -1):
            p = np_dtype(np_dtype(t) + np_dtype(sign) * s)
            if np_dtype(p - np_dtype(t)) == np_dtype(sign) * s:
                extra_p.append(float(p))
                extra_t.append(t)
    pred = np.concatenate([pred, np.array(extra_p, dtype=np_dtype)])
    target = np.concatenate([target, np.array(extra_t, dtype=np_dtype)])
    weights = rng.uniform(0.0, 2.0, pred.size).astype(np_dtype)
    weights[::7] = 0.0
    return pred, target, weights


def run(fn, pred, target, weights, reduction, torch_dtype):
    p = torch.tensor(pred, dtype=torch_dtype, requires_grad=True)
    t = torch.tensor(target, dtype=torch_dtype)
    if weights is None:
        loss = fn(p, t, reduction)
    else:
        w = torch.tensor(weights, dtype=torch_dtype)
        loss = reduce(fn(p, t, "none") * w, reduction)
    loss.backward(torch.ones_like(loss))
    return floats(loss.detach().reshape(-1)), floats(p.grad)


def floats(x):
    # repr of the float64 value: exact for float32 inputs, round-trips for float64.
    out = []
    for v in x.double().tolist():
        if not math.isfinite(v):
            raise ValueError("non-finite golden value %r" % v)
        out.append(v)
    return out


def main():
    for name, np_dtype, torch_dtype in (("float64", np.float64, torch.float64),
                                        ("float32", np.float32, torch.float32)):
        rng = np.random.default_rng(SEED)
        cases = []
        for loss, params, scale, fn, expr in configs():
            pred, target, weights = inputs(rng, scale, np_dtype)
            case = {
                "loss": loss,
                "params": params,
                "torch": expr,
                "pred": floats(torch.tensor(pred)),
                "target": floats(torch.tensor(target)),
                "weights": floats(torch.tensor(weights)),
                "value": {}, "grad": {}, "wvalue": {}, "wgrad": {},
            }
            for r in REDUCTIONS:
                case["value"][r], case["grad"][r] = run(fn, pred, target, None, r, torch_dtype)
                case["wvalue"][r], case["wgrad"][r] = run(fn, pred, target, weights, r, torch_dtype)
            cases.append(case)
        empty = torch.zeros(0, dtype=torch_dtype, requires_grad=True)
        empty_mean = F.smooth_l1_loss(empty, torch.zeros(0, dtype=torch_dtype), beta=1.0).item()
        doc = {
            "generator": "static/testdata/gen_golden.py",
            "torch_version": torch.__version__,
            "numpy_version": np.__version__,
            "seed": SEED,
            "dtype": name,
            "torch_empty_mean_is_nan": math.isnan(empty_mean),
            "cases": cases,
        }
        path = os.path.join(HERE, "golden_%s.json" % name)
        with open(path, "w") as f:
            json.dump(doc, f, separators=(",", ":"), allow_nan=False)
            f.write("\n")
        print("wrote %s (%d cases, %d bytes)" % (path, len(cases), os.path.getsize(path)))


if __name__ == "__main__":
    main()
