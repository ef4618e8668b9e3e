"""Writes adamw_golden.json: torch.optim.AdamW (PyTorch 1.13, Debian's python3-torch) on
float32 parameters with given gradients, the oracle of TestAdamWAgainstTorch.

    /usr/bin/python3 trainer/testdata/adamw_golden.py > trainer/testdata/adamw_golden.json

Three parameters (shapes [7], [16, 33], [1]); 8 steps with learning rates rising then
falling, weight decay 0.01, betas (0.9, 0.999), eps 1e-8; every step's gradient is drawn
from a normal distribution (scaled by 10^U(-3, 1)) and set directly. The file holds the
initial parameters, each step's learning rate and gradients, and the parameters after it,
all float32 values written as float64 numbers (exact).
"""
import json
import sys

import torch

torch.manual_seed(7)
shapes = [[7], [16, 33], [1]]
params = [torch.randn(s, dtype=torch.float32, requires_grad=True) for s in shapes]
opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
out = {"shapes": shapes, "weight_decay": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
       "params0": [p.detach().flatten().tolist() for p in params], "steps": []}
for k, lr in enumerate([1e-3, 5e-3, 2e-2, 8e-3, 8e-3, 4e-3, 1e-3, 3e-4]):
    for g in opt.param_groups:
        g["lr"] = lr
    grads = []
    for p in params:
        scale = 10 ** (torch.rand(()) * 4 - 3)
        p.grad = (torch.randn(p.shape) * scale).to(torch.float32)
        grads.append(p.grad.flatten().tolist())
    opt.step()
    out["steps"].append({"lr": lr, "grads": grads, "params": [p.detach().flatten().tolist() for p in params]})
json.dump(out, sys.stdout)
sys.stdout.write("\n")
