#!/usr/bin/python3
"""Times scikit-learn's KMeans on the data and settings of bench/micro/cluster_kmeans_bench.cpp.

Cases (k = 5, algorithm='lloyd', sklearn's default OpenMP threads):
  blog      the 40691 x 8 ECOD-inlier matrix (../shared/golden/kmeans/inlier_matrix.csv),
            KMeans(n_init=10, max_iter=100, random_state=42) -- the blog's final fit
  fixed     the same matrix from rows [0, 1000, 2000, 3000, 4000], max_iter=300, tol=1e-4
  vec1      45211 x 384 float32 random unit vectors, n_init=1, max_iter=300, random_state=0
  vec10     the first 40690 of those rows, n_init=10, max_iter=300, random_state=0

The unit vectors come from numpy.random.default_rng(--vector-seed).standard_normal, rows
scaled to norm 1 in float64 and stored as float32. --write-vectors PATH saves them as raw
little-endian float32 (45211 x 384) for the C++ side:
  SEGMENTA_BENCH_VECTORS=PATH build/release/bench/bench_cluster_kmeans

Prints one line per case: wall seconds (best and median of --repeat runs), process CPU
seconds of the best run (all threads; a steadier figure than wall time on a shared
machine), inertia, n_iter.
Usage: /usr/bin/python3 bench/compare/kmeans_sklearn.py [--cases blog,vec1] [--repeat 3]
       [--shared ../shared] [--write-vectors /tmp/vectors.f32] [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans

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


def time_fit(make, x, repeat):
    times, cpus, model = [], [], None
    for _ in range(repeat):
        km = make()
        c0, t0 = time.process_time(), time.perf_counter()
        km.fit(x)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        model = km
    return times, cpus, model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="blog,fixed,vec1,vec10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shared", default=default_shared())
    ap.add_argument("--vector-seed", type=int, default=0)
    ap.add_argument("--write-vectors", metavar="PATH")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]

    vectors = None
    if args.write_vectors or any(c.startswith("vec") for c in cases):
        vectors = unit_vectors(args.vector_seed)
        if args.write_vectors:
            vectors.astype("<f4").tofile(args.write_vectors)
            print(f"wrote {VEC_ROWS} x {VEC_DIM} float32 to {args.write_vectors}")

    blog = load_blog(args.shared) if any(c in ("blog", "fixed") for c in cases) else None
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, {os.cpu_count()} cpus")
    results = {}
    for case in cases:
        if case == "blog":
            make = lambda: KMeans(n_clusters=5, init="k-means++", n_init=10, max_iter=100, random_state=42,
                                  algorithm="lloyd")
            x = blog
        elif case == "fixed":
            init = blog[[0, 1000, 2000, 3000, 4000]]
            make = lambda: KMeans(n_clusters=5, init=init, n_init=1, max_iter=300, tol=1e-4, algorithm="lloyd")
            x = blog
        elif case == "vec1":
            make = lambda: KMeans(n_clusters=5, n_init=1, max_iter=300, random_state=0, algorithm="lloyd")
            x = vectors
        elif case == "vec10":
            make = lambda: KMeans(n_clusters=5, n_init=10, max_iter=300, random_state=0, algorithm="lloyd")
            x = vectors[:40690]
        else:
            sys.exit(f"unknown case {case}")
        times, cpus, km = time_fit(make, x, args.repeat)
        best = min(range(len(times)), key=times.__getitem__)
        results[case] = {"best_s": times[best], "median_s": statistics.median(times), "cpu_s": cpus[best],
                         "inertia": float(km.inertia_), "n_iter": int(km.n_iter_), "rows": int(x.shape[0]),
                         "cols": int(x.shape[1]), "load_avg": os.getloadavg()[0]}
        print(f"{case:6s} {x.shape[0]}x{x.shape[1]} {x.dtype}: best {times[best]:.4f} s "
              f"(cpu {cpus[best]:.4f} s), median {statistics.median(times):.4f} s, inertia {km.inertia_!r}, "
              f"n_iter {km.n_iter_}, load {os.getloadavg()[0]:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
