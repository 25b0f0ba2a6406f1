#!/usr/bin/python3
"""Times scikit-learn's TSNE on the cases of bench/micro/reduce_tsne_bench.cpp.

Cases (scikit-learn's default OpenMP threads, method='barnes_hut'):
  golden    the 5,000-row sample of ../shared/golden/tsne (inlier indices in
            subsample_embedding.csv), TSNE(n_components=2, perplexity=30, init='pca',
            random_state=0) -- sklearn 1.2 defaults, the golden reference run
  inliers   all 40,691 rows of ../shared/golden/kmeans/inlier_matrix.csv, same defaults
  blog      the blog's TSNE(n_components=3, learning_rate=500, init='random',
            perplexity=200, n_iter=5000) on the first --blog-n rows of the blog's
            50 % sample with replacement of the inliers: numpy RandomState(1).choice(
            40691, 20346), which is what pandas' sample(frac=0.5, replace=True,
            random_state=1) draws

--write-sample PATH writes that sample (inlier indices, one per line) for the C++ side:
  SEGMENTA_BENCH_TSNE_SAMPLE=PATH build/release/bench/bench_reduce_tsne

Prints one line per case: wall seconds, process CPU seconds (all threads), KL
(kl_divergence_), iterations (n_iter_ + 1) and, for golden, trustworthiness(10).
Usage: /usr/bin/python3 bench/compare/tsne_sklearn.py [--cases golden,blog] [--blog-n 4000]
       [--shared ../shared] [--write-sample /tmp/blog_sample.txt] [--json out.json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.manifold import TSNE, trustworthiness

BLOG_SAMPLE = 20346


def default_shared():
    env = os.environ.get("SEGMENTA_SHARED")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")


def load_inliers(shared):
    path = os.path.join(shared, "golden", "kmeans", "inlier_matrix.csv")
    if not os.path.exists(path):
        sys.exit(f"missing {path} (pass --shared)")
    return np.loadtxt(path, delimiter=",", skiprows=1)[:, 1:].copy(order="C")


def golden_rows(shared):
    path = os.path.join(shared, "golden", "tsne", "subsample_embedding.csv")
    return np.loadtxt(path, delimiter=",", skiprows=1)[:, 0].astype(int)


def blog_rows(n_inliers):
    return np.random.RandomState(1).choice(n_inliers, BLOG_SAMPLE, replace=True)


def run(name, tsne, x, trust):
    c0, t0 = time.process_time(), time.perf_counter()
    y = tsne.fit_transform(x)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rec = {"case": name, "n": int(x.shape[0]), "wall_s": wall, "cpu_s": cpu,
           "kl": float(tsne.kl_divergence_), "n_iter": int(tsne.n_iter_) + 1}
    if trust:
        rec["trust10"] = float(trustworthiness(x, y, n_neighbors=10))
    print(json.dumps(rec), flush=True)
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", default="golden")
    ap.add_argument("--blog-n", default="4000", help="comma-separated row counts of the blog case")
    ap.add_argument("--shared", default=default_shared())
    ap.add_argument("--write-sample")
    ap.add_argument("--json")
    args = ap.parse_args()
    x = load_inliers(args.shared)
    if args.write_sample:
        np.savetxt(args.write_sample, blog_rows(x.shape[0]), fmt="%d")
    print(f"scikit-learn {sklearn.__version__}", flush=True)
    records = []
    for case in filter(None, args.cases.split(",")):
        if case == "golden":
            records.append(run(case, TSNE(n_components=2, perplexity=30, init="pca", random_state=0),
                               x[golden_rows(args.shared)], True))
        elif case == "inliers":
            records.append(run(case, TSNE(n_components=2, perplexity=30, init="pca", random_state=0), x, False))
        elif case == "blog":
            rows = blog_rows(x.shape[0])
            for n in map(int, args.blog_n.split(",")):
                tsne = TSNE(n_components=3, learning_rate=500, init="random", perplexity=200, n_iter=5000,
                            random_state=0)
                records.append(run(f"blog{n}", tsne, x[rows[:n]], False))
        else:
            sys.exit(f"unknown case {case}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
