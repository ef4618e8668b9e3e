#!/usr/bin/env python3
"""Writes stats_golden.json: SciPy's values for the statistics tests of package experiments.

Run with Debian's python3-scipy (SciPy 1.10):  /usr/bin/python3 gen_stats.py
"""
import json

import numpy as np
from scipy import stats

samples = {
    "three": [0.0953, 0.0964, 0.0951],
    "four": [1.2, -0.4, 0.9, 2.2],
    "five": [0.012, -0.003, 0.021, 0.008, 0.015],
    "six": [-1.5, 0.3, 0.8, 1.1, 2.9, -0.2],
    "eight_skewed": [0.1, 0.2, 0.15, 0.12, 0.11, 0.13, 0.14, 3.0],
    "ten": [2.1, -0.7, 1.3, 0.4, 1.8, -0.2, 0.9, 1.1, 2.6, 0.05],
    "twelve": [0.31, 0.52, -0.12, 0.44, 0.08, 0.67, 0.29, -0.05, 0.73, 0.18, 0.36, 0.41],
    "twenty": list(np.round(np.random.default_rng(7).normal(0.2, 1.0, 20), 4)),
    "thirty_exp": list(np.round(np.random.default_rng(11).exponential(1.0, 30), 4)),
}

out = []
for name, x in samples.items():
    x = [float(v) for v in x]
    a = np.array(x)
    n = len(a)
    row = {"name": name, "x": x}
    row["mean"] = float(a.mean())
    row["sd"] = float(a.std(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * a.std(ddof=1) / np.sqrt(n)
    row["ci_low"], row["ci_high"] = float(a.mean() - half), float(a.mean() + half)
    t = stats.ttest_1samp(a, 0.0)
    row["t"], row["t_p"] = float(t.statistic), float(t.pvalue)
    w = stats.shapiro(a)
    row["sw_w"], row["sw_p"] = float(w.statistic), float(w.pvalue)
    if n <= 25:
        wr = stats.wilcoxon(a, zero_method="wilcox", method="exact")
        # SciPy reports min(W+, W-) for the two-sided test; the p-value is what is compared.
        row["wilcoxon_p"] = float(wr.pvalue)
    out.append(row)

with open("stats_golden.json", "w") as f:
    json.dump({"scipy": __import__("scipy").__version__, "cases": out}, f, indent=1)
    f.write("\n")
