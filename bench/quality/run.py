#!/usr/bin/env python3
"""The quality benchmark: every method on every regime of generate.py, with its own
k (--k auto) and at the true k, and the default run (method and k left to their
defaults); adjusted Rand index and adjusted mutual information against the planted
segments, over the clustered rows (the rows ECOD flags as outliers are left out, as
the run leaves them out). Prints a Markdown table.

  bench/quality/run.py [--bin build/release/segmenta] [--regimes base,k2,...] [--seed N]
"""
import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import generate  # noqa: E402

METHODS = ["kmeans", "kprototypes", "lca"]


def contingency(a, b):
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    m = np.zeros((ai.max() + 1, bi.max() + 1), dtype=np.int64)
    np.add.at(m, (ai, bi), 1)
    return m


def ari(a, b):
    m = contingency(a, b)
    comb = lambda x: x * (x - 1) / 2.0  # noqa: E731
    n = m.sum()
    sum_ij = comb(m).sum()
    sa, sb = comb(m.sum(axis=1)).sum(), comb(m.sum(axis=0)).sum()
    expected = sa * sb / comb(n)
    top = 0.5 * (sa + sb)
    return 1.0 if top == expected else (sum_ij - expected) / (top - expected)


def entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def ami(a, b):
    """Adjusted mutual information, arithmetic-mean normalisation (Vinh et al. 2010)."""
    m = contingency(a, b)
    n = int(m.sum())
    ra, cb = m.sum(axis=1), m.sum(axis=0)
    nz = m > 0
    outer = np.outer(ra, cb).astype(float)
    mi = float((m[nz] / n * (np.log(m[nz] * n) - np.log(outer[nz]))).sum())
    lg = [math.lgamma(i + 1) for i in range(n + 1)]
    emi = 0.0
    for ai in ra:
        for bj in cb:
            lo, hi = max(1, ai + bj - n), min(ai, bj)
            for nij in range(lo, hi + 1):
                term = nij / n * (math.log(n * nij) - math.log(ai * bj))
                lw = (lg[ai] + lg[bj] + lg[n - ai] + lg[n - bj] - lg[n] - lg[nij] - lg[ai - nij] - lg[bj - nij]
                      - lg[n - ai - bj + nij])
                emi += term * math.exp(lw)
    ha, hb = entropy(ra), entropy(cb)
    denom = 0.5 * (ha + hb) - emi
    if abs(denom) < 1e-15:
        return 1.0
    return (mi - emi) / denom


def segments(run_dir):
    with open(os.path.join(run_dir, "segments.csv")) as f:
        return {int(r["row"]): int(r["segment"]) for r in csv.DictReader(f) if r["segment"] not in ("", "-1")}


def run(bin_, data, out, extra):
    cmd = [bin_, "run", data, "--quiet", "--no-explain", "--no-maps", "--no-report", "--out", out] + extra
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"error: {r.stderr.strip()}", 0.0
    return segments(out), None, time.time() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default="build/release/segmenta")
    ap.add_argument("--regimes", default=",".join(generate.REGIMES))
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    print("| regime | rows | true k | run | k | ARI | AMI | seconds |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for regime in a.regimes.split(","):
            cfg = generate.config(regime)
            names, rows, truth = generate.generate(regime, a.seed)
            data = os.path.join(tmp, f"{regime}.csv")
            with open(data, "w") as f:
                f.write(",".join(names) + "\n")
                for r in rows:
                    f.write(",".join(r) + "\n")
            extra = ["--silhouette-sample", "4000"] if cfg["n"] > 20000 else []
            runs = [("default (`segmenta run`)", extra)]
            for m in METHODS:
                runs.append((f"{m} --k auto", ["--method", m] + extra))
                runs.append((f"{m} --k {cfg['k']}", ["--method", m, "--k", str(cfg["k"])] + extra))
            for label, args in runs:
                seg, err, sec = run(a.bin, data, os.path.join(tmp, "out"), args)
                if err:
                    print(f"| {regime} | {cfg['n']} | {cfg['k']} | {label} | – | – | – | {err[:80]} |")
                    continue
                idx = np.array(sorted(seg))
                pred = np.array([seg[i] for i in idx])
                t = truth[idx]
                k = len(set(pred.tolist()))
                print(f"| {regime} | {cfg['n']} | {cfg['k']} | {label} | {k} | {ari(t, pred):.3f} | "
                      f"{ami(t, pred):.3f} | {sec:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
