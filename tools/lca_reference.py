#!/usr/bin/env python3
"""Reference EM of segmenta's latent-class model (numpy), for the golden test and
the benchmark.

The model and its guards are those of include/segmenta/cluster.hpp (latent-class
model): diagonal Gaussians for numeric columns, multinomials for categorical ones,
missing cells (NaN, or a code < 0 or >= the column's level count) left out of the
likelihood, variances floored at variance_floor x the column's overall variance,
category probabilities (count + smoothing) / (total + smoothing x levels), EM
stopping when the penalised log-likelihood rises by <= tol x |objective|.

Usage:
  lca_reference.py fit --numeric X.csv --codes C.csv --levels L0,L1,.. \\
      --init R.csv [--tol T] [--max-iter N] [--variance-floor F] [--smoothing A] --out fit.json
  lca_reference.py bench DATA.csv [--k 2..9] [--n-init 10]   (bank-style ';' CSV, blog columns;
      the numpy side of bench/compare/lca.sh)

X.csv: one row per line, numbers separated by ',' ('nan' = missing). C.csv: integer
codes. R.csv: the initial responsibilities (n, k). fit.json: log_likelihood,
objective, n_iter, converged, labels, weights, means, variances, bic, icl, aic,
entropy_r2.
"""
import argparse
import json
import math
import sys
import time

import numpy as np


def read_matrix(path, dtype):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append([dtype(v) for v in line.split(",")])
    return np.array(rows, dtype=np.float64 if dtype is float else np.int64)


class Problem:
    def __init__(self, x, codes, levels, variance_floor):
        self.x = x
        self.present_x = ~np.isnan(x)
        self.xz = np.where(self.present_x, x, 0.0)
        self.n = max(x.shape[0], codes.shape[0])
        self.levels = list(levels)
        # one-hot indicators of the present categorical cells, per column
        self.onehot = []
        for c, L in enumerate(self.levels):
            code = codes[:, c]
            ok = (code >= 0) & (code < L)
            m = np.zeros((self.n, L))
            m[np.nonzero(ok)[0], code[ok]] = 1.0
            self.onehot.append(m)
        cnt = self.present_x.sum(axis=0)
        mean = np.where(cnt > 0, self.xz.sum(axis=0) / np.maximum(cnt, 1), 0.0)
        ss = np.where(self.present_x, (self.xz - mean) ** 2, 0.0).sum(axis=0)
        var = np.where(cnt > 0, ss / np.maximum(cnt, 1), 0.0)
        self.mean = mean
        self.var = np.where(var > 0, var, 1.0)
        self.floor = np.where(var > 0, variance_floor * var, variance_floor)


def stats(pr, r, centre):
    """Sufficient statistics of responsibilities r (n, k), sums centred on centre (k, p)."""
    nk = r.sum(axis=0)
    k = r.shape[1]
    p = pr.x.shape[1]
    s0 = np.zeros((k, p))
    s1 = np.zeros((k, p))
    s2 = np.zeros((k, p))
    for d in range(p):
        pres = pr.present_x[:, d]
        dv = pr.xz[:, d][:, None] - centre[:, d][None, :]  # (n, k)
        rr = np.where(pres[:, None], r, 0.0)
        s0[:, d] = rr.sum(axis=0)
        s1[:, d] = (rr * dv).sum(axis=0)
        s2[:, d] = (rr * dv * dv).sum(axis=0)
    counts = [r.T @ oh for oh in pr.onehot]  # (k, L)
    return nk, s0, s1, s2, counts


def m_step(pr, st, centre, smoothing):
    nk, s0, s1, s2, counts = st
    weight = np.where(nk > 0, nk / nk.sum(), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = s1 / s0
        mu = np.where(s0 > 0, centre + shift, pr.mean[None, :])
        var = np.where(s0 > 0, s2 / s0 - shift * shift, pr.var[None, :])
    var = np.maximum(var, pr.floor[None, :])
    theta = []
    for c, L in enumerate(pr.levels):
        cnt = counts[c]
        denom = cnt.sum(axis=1, keepdims=True) + smoothing * L
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(denom > 0, (cnt + smoothing) / denom, 1.0 / L)
        theta.append(t)
    return weight, mu, var, theta


def log_joint(pr, params):
    weight, mu, var, theta = params
    with np.errstate(divide="ignore"):
        lp = np.tile(np.log(weight), (pr.n, 1))
    c = -0.5 * (math.log(2.0 * math.pi) + np.log(var))  # (k, p)
    for d in range(pr.x.shape[1]):
        pres = pr.present_x[:, d]
        z = pr.xz[:, d][:, None] - mu[:, d][None, :]
        term = c[:, d][None, :] - 0.5 * z * z / var[:, d][None, :]
        lp += np.where(pres[:, None], term, 0.0)
    for cc, oh in enumerate(pr.onehot):
        lp += oh @ np.log(theta[cc]).T
    return lp


def e_step(pr, params):
    lp = log_joint(pr, params)
    mx = lp.max(axis=1, keepdims=True)
    lse = mx[:, 0] + np.log(np.exp(lp - mx).sum(axis=1))
    r = np.exp(lp - lse[:, None])
    with np.errstate(invalid="ignore"):
        ent = -np.where(r > 0, r * (lp - lse[:, None]), 0.0).sum()
    return r, lse.sum(), ent


def log_prior(params, smoothing):
    if smoothing == 0:
        return 0.0
    return smoothing * sum(np.log(t).sum() for t in params[3])


def fit(pr, init, smoothing, tol, max_iter):
    k = init.shape[1]
    centre = np.tile(pr.mean, (k, 1))
    params = m_step(pr, stats(pr, init, centre), centre, smoothing)
    n_iter = 1
    previous = None
    converged = False
    while True:
        r, ll, ent = e_step(pr, params)
        objective = ll + log_prior(params, smoothing)
        if previous is not None and objective - previous <= tol * abs(objective):
            converged = True
            break
        if n_iter >= max_iter:
            break
        previous = objective
        params = m_step(pr, stats(pr, r, params[1]), params[1], smoothing)
        n_iter += 1
    weight, mu, var, theta = params
    n = pr.n
    p = pr.x.shape[1]
    npar = (k - 1) + 2 * k * p + k * sum(L - 1 for L in pr.levels)
    bic = -2 * ll + npar * math.log(n)
    return {
        "log_likelihood": ll,
        "objective": objective,
        "n_iter": n_iter,
        "converged": converged,
        "labels": r.argmax(axis=1).tolist(),
        "weights": weight.tolist(),
        "means": mu.tolist(),
        "variances": var.tolist(),
        "bic": bic,
        "aic": -2 * ll + 2 * npar,
        "icl": bic + 2 * ent,
        "entropy_r2": 1 - ent / (n * math.log(k)) if k > 1 else 1.0,
        "n_parameters": npar,
        "posterior": r,
    }


def kmeanspp_init(pr, codes, k, rng):
    """Hard responsibilities from a k-means++ choice of seed rows under the mixed distance."""
    x, pres = pr.xz, pr.present_x

    def dist(s):
        both = pres & pres[s][None, :]
        d2 = np.where(both, (x - x[s][None, :]) ** 2, 0.0).sum(axis=1)
        if codes.shape[1]:
            L = np.array(pr.levels)
            ok = (codes >= 0) & (codes < L[None, :])
            d2 += (ok & ok[s][None, :] & (codes != codes[s][None, :])).sum(axis=1)
        return d2

    best = dist(rng.integers(pr.n))
    owner = np.zeros(pr.n, dtype=np.int64)
    for j in range(1, k):
        total = best.sum()
        s = rng.choice(pr.n, p=best / total) if total > 0 else rng.integers(pr.n)
        d = dist(s)
        closer = d < best
        owner[closer] = j
        best = np.minimum(best, d)
    r = np.zeros((pr.n, k))
    r[np.arange(pr.n), owner] = 1.0
    return r


def yeo_johnson(x, lam):
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = np.log1p(x[pos]) if abs(lam) < 1e-12 else ((x[pos] + 1) ** lam - 1) / lam
    out[~pos] = (-np.log1p(-x[~pos]) if abs(lam - 2) < 1e-12
                 else -((1 - x[~pos]) ** (2 - lam) - 1) / (2 - lam))
    return out


def yeo_johnson_fit(x):
    """Lambda maximising the Yeo-Johnson log-likelihood (golden-section search on [-2, 2], as
    scikit-learn's brent search does in effect), then the standardised transform."""
    def loglik(lam):
        y = yeo_johnson(x, lam)
        var = y.var()
        return -0.5 * len(x) * math.log(var) + (lam - 1) * (np.sign(x) * np.log1p(np.abs(x))).sum()

    a, b = -2.0, 2.0
    g = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        c, d = b - g * (b - a), a + g * (b - a)
        if loglik(c) > loglik(d):
            b = d
        else:
            a = c
    y = yeo_johnson(x, (a + b) / 2)
    return (y - y.mean()) / y.std()


def fit_starts(pr, codes, k, n_init, rng, args):
    """As segmenta's fit_lca: n_init k-means++ starts of at most short_iter iterations, the best continued."""
    best = None
    short = min(args.max_iter, args.short_iter) if n_init > 1 and args.short_iter > 0 else args.max_iter
    for _ in range(n_init):
        res = fit(pr, kmeanspp_init(pr, codes, k, rng), args.smoothing, args.tol, short)
        if best is None or res["log_likelihood"] > best["log_likelihood"]:
            best = res
    if not best["converged"] and best["n_iter"] < args.max_iter:
        more = fit(pr, best["posterior"], args.smoothing, args.tol, args.max_iter - best["n_iter"])
        more["n_iter"] += best["n_iter"]
        best = more
    return best


def bench(args):
    """The blog's first eight columns of a bank-style ';' CSV: numbers Yeo-Johnson + standardised,
    categories as codes of their sorted values; every k of the range fitted as segmenta does.
    Prints the BIC per k and the seconds of the fits (the preparation not included)."""
    import csv

    with open(args.data, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    header, body = rows[0][:8], [r[:8] for r in rows[1:]]
    num, cat = [], []
    for j, name in enumerate(header):
        try:
            num.append(np.array([float(r[j]) for r in body]))
        except ValueError:
            cat.append([r[j] for r in body])
    x = np.stack([yeo_johnson_fit(v) for v in num], axis=1)
    codes, levels = [], []
    for values in cat:
        lv = sorted(set(values))
        index = {v: i for i, v in enumerate(lv)}
        codes.append([index[v] for v in values])
        levels.append(len(lv))
    codes = np.array(codes, dtype=np.int64).T
    lo, hi = (int(v) for v in args.k.split(".."))
    rng = np.random.default_rng(0)
    pr = Problem(x, codes, levels, args.variance_floor)
    start = time.perf_counter()
    for k in range(lo, hi + 1):
        best = fit_starts(pr, codes, k, args.n_init, rng, args)
        print(f"k={k} bic={best['bic']:.3f} log_likelihood={best['log_likelihood']:.4f} n_iter={best['n_iter']}")
    print(f"rows={pr.n} seconds={time.perf_counter() - start:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--numeric", required=True)
    f.add_argument("--codes", required=True)
    f.add_argument("--levels", required=True)
    f.add_argument("--init", required=True)
    f.add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("data")
    b.add_argument("--k", default="2..9")
    b.add_argument("--n-init", type=int, default=10)
    for p in (f, b):
        p.add_argument("--tol", type=float, default=1e-6)
        p.add_argument("--max-iter", type=int, default=1000)
        p.add_argument("--short-iter", type=int, default=20)
        p.add_argument("--variance-floor", type=float, default=1e-6)
        p.add_argument("--smoothing", type=float, default=0.01)
    args = ap.parse_args()
    if args.command == "bench":
        bench(args)
        return
    x = read_matrix(args.numeric, float)
    codes = read_matrix(args.codes, int).astype(np.int64)
    levels = [int(v) for v in args.levels.split(",")] if args.levels else []
    init = read_matrix(args.init, float)
    if x.size == 0:
        x = np.zeros((init.shape[0], 0))
    if codes.size == 0:
        codes = np.zeros((init.shape[0], 0), dtype=np.int64)
    pr = Problem(x, codes, levels, args.variance_floor)
    res = fit(pr, init, args.smoothing, args.tol, args.max_iter)
    del res["posterior"]
    with open(args.out, "w") as out:
        json.dump(res, out)


if __name__ == "__main__":
    sys.exit(main())
