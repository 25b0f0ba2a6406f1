#!/usr/bin/env python3
"""Seeded customer tables with planted segments, in the regimes of the quality benchmark.

Each segment draws every column from its own distribution: skewed numbers
(log-normal, some integer like ages or counts) and categorical answers whose level
probabilities mix a uniform share with a segment-specific peaked draw. The regimes
vary one thing at a time from the base table (5 segments, 3 numeric and 5
categorical columns, 5000 rows): weaker separation, unbalanced shares, irrelevant
columns, mostly categorical columns, missing cells, 2 or 12 segments, 1,000 or
100,000 rows.

  generate.py REGIME OUT.csv TRUTH.csv [--seed N]   one table and its truth
  generate.py --list                                the regimes, one a line
"""
import argparse
import sys

import numpy as np

BASE = dict(k=5, n=5000, num=3, cat=5, sep=1.0, shares=None, noise_num=0, noise_cat=0, missing=0.0)
REGIMES = {
    "base": {},
    "overlapping": dict(sep=0.55),
    "unbalanced": dict(shares=[0.45, 0.25, 0.15, 0.10, 0.05]),
    "irrelevant": dict(noise_num=3, noise_cat=3),
    "categorical": dict(num=1, cat=10),
    "missing": dict(missing=0.10),
    "k2": dict(k=2),
    "k12": dict(k=12, n=12000),
    "rows1k": dict(n=1000),
    "rows100k": dict(n=100000),
}


def config(regime):
    c = dict(BASE)
    c.update(REGIMES[regime])
    return c


def generate(regime, seed):
    """(header, rows as lists of strings, truth) of one table."""
    c = config(regime)
    rng = np.random.default_rng(seed)
    k, n = c["k"], c["n"]
    shares = np.array(c["shares"] if c["shares"] else [1.0 / k] * k)
    counts = np.floor(shares * n).astype(int)
    counts[0] += n - counts.sum()
    truth = np.repeat(np.arange(k), counts)
    rng.shuffle(truth)
    sep = c["sep"]
    cols, names = [], []
    # Numeric columns: log-normal per segment, log-medians spread by sep; every
    # second one integer (an age or a count).
    for d in range(c["num"]):
        centre = rng.normal(0.0, 0.8 * sep, size=k)
        spread = rng.uniform(0.25, 0.45, size=k)
        scale = [50.0, 1000.0, 8.0][d % 3]
        v = scale * np.exp(centre[truth] + spread[truth] * rng.standard_normal(n))
        cols.append(np.round(v) if d % 2 == 0 else np.round(v, 2))
        names.append(f"num{d}")
    # Categorical columns: 3 to 7 levels; per segment a Dirichlet(0.4) draw mixed with
    # the uniform distribution (weight 1 - 0.75 sep).
    for c_i in range(c["cat"]):
        levels = 3 + (c_i * 2) % 5
        peaked = rng.dirichlet(np.full(levels, 0.4), size=k)
        w = min(0.95, 0.75 * sep)
        probs = w * peaked + (1.0 - w) / levels
        u = rng.random(n)
        cum = np.cumsum(probs[truth], axis=1)
        code = (u[:, None] > cum).sum(axis=1).clip(0, levels - 1)
        cols.append(np.array([f"c{c_i}_{chr(97 + l)}" for l in range(levels)])[code])
        names.append(f"cat{c_i}")
    # Irrelevant columns: the same distribution in every segment.
    for d in range(c["noise_num"]):
        cols.append(np.round(100.0 * np.exp(0.5 * rng.standard_normal(n)), 2))
        names.append(f"noise_num{d}")
    for d in range(c["noise_cat"]):
        cols.append(np.array(["x", "y", "z", "w"])[rng.integers(0, 4, size=n)])
        names.append(f"noise_cat{d}")
    table = [[str(v) for v in col] for col in cols]
    for col in table:
        for i in range(n):
            if col[i].endswith(".0"):
                col[i] = col[i][:-2]
    if c["missing"] > 0:
        for col in table:
            for i in np.nonzero(rng.random(n) < c["missing"])[0]:
                col[i] = ""
    rows = [[table[j][i] for j in range(len(table))] for i in range(n)]
    return names, rows, truth


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("regime", nargs="?")
    ap.add_argument("out", nargs="?")
    ap.add_argument("truth", nargs="?")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for r in REGIMES:
            print(r)
        return 0
    if a.regime not in REGIMES or not a.out or not a.truth:
        ap.error(f"give a regime ({', '.join(REGIMES)}), OUT.csv and TRUTH.csv")
    names, rows, truth = generate(a.regime, a.seed)
    with open(a.out, "w") as f:
        f.write(",".join(names) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    with open(a.truth, "w") as f:
        f.write("row,segment\n")
        for i, t in enumerate(truth):
            f.write(f"{i},{t}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
