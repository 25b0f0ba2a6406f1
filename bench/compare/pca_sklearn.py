#!/usr/bin/python3
"""Times scikit-learn's PCA on the cases of bench/micro/reduce_pca_bench.cpp.

Cases (3 components, scikit-learn's defaults: svd_solver='auto'):
  blog_std   the 40691 x 8 inlier matrix, standardised (StandardScaler) then PCA --
             what prince.PCA(n_components=3) computes for the blog (48.37 %)
  blog       the same matrix, centred only (scikit-learn's PCA)
  vectors    45211 x 384 float32 random unit vectors (numpy default_rng(--vector-seed),
             rows scaled to norm 1; the same as bench/compare/kmeans_sklearn.py writes
             with --write-vectors, which the C++ side reads from SEGMENTA_BENCH_VECTORS)

Prints one line per case: wall seconds (best and median of --repeat), process CPU
seconds of the best run, cumulative % of variance of the 3 components.
Usage: /usr/bin/python3 bench/compare/pca_sklearn.py [--cases blog,vectors] [--repeat 5]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

VEC_ROWS, VEC_DIM = 45211, 384


def default_shared():
    env = os.environ.get("SEGMENTA_SHARED")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")


def load_blog(shared):
    path = os.path.join(shared, "golden", "kmeans", "inlier_matrix.csv")
    if not os.path.exists(path):
        sys.exit(f"missing {path} (pass --shared)")
    return np.loadtxt(path, delimiter=",", skiprows=1)[:, 1:].copy(order="C")


def unit_vectors(seed):
    z = np.random.default_rng(seed).standard_normal((VEC_ROWS, VEC_DIM))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    return z.astype(np.float32)


def time_case(name, fit, repeat):
    walls, best = [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        cum = fit()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        walls.append(wall)
        if best is None or wall < best[0]:
            best = (wall, cpu)
    rec = {"case": name, "wall_best_s": best[0], "wall_median_s": statistics.median(walls), "cpu_s": best[1],
           "cum_pct": cum}
    print(json.dumps(rec), flush=True)
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="blog_std,blog,vectors")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--vector-seed", type=int, default=0)
    ap.add_argument("--shared", default=default_shared())
    ap.add_argument("--json")
    args = ap.parse_args()
    print(f"scikit-learn {sklearn.__version__}", flush=True)

    def pca_cum(x):
        return float(100 * PCA(n_components=3).fit(x).explained_variance_ratio_.sum())

    records = []
    for case in filter(None, args.cases.split(",")):
        if case == "blog_std":
            x = load_blog(args.shared)
            records.append(time_case(case, lambda: pca_cum(StandardScaler().fit_transform(x)), args.repeat))
        elif case == "blog":
            x = load_blog(args.shared)
            records.append(time_case(case, lambda: pca_cum(x), args.repeat))
        elif case == "vectors":
            x = unit_vectors(args.vector_seed)
            records.append(time_case(case, lambda: pca_cum(x), args.repeat))
        else:
            sys.exit(f"unknown case {case}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
