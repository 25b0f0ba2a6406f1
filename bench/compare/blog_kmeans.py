#!/usr/bin/env python3
"""Side-by-side timing of the blog's k-means workflow: the Python reference stack
against `segmenta run --preset blog --method kmeans --k 2..9`, on the same machine,
in one run.

The Python side follows the blog post step by step with scikit-learn (Debian's
python3-sklearn) and pandas:
  load        pandas.read_csv(sep=";").iloc[:, 0:8]
  prep        Pipeline([OrdinalEncoder(), PowerTransformer()]).fit_transform
  ecod        pyod 1.1.0 ECOD fit (+labels_), re-expressed below with numpy
              operations (pyod is not packaged for Debian; its fit is a handful of
              numpy calls, so the timing transfers)
  elbow       KElbowVisualizer(KMeans(init="k-means++", random_state=0,
              n_init="auto"), k=(2, 10)): one fit per k + yellowbrick's distortion
  silhouette  the blog's silhouette analysis: per k = 2..9 KMeans(n_init=10,
              max_iter=1000, random_state=10), silhouette_score and
              silhouette_samples (each an exact O(n^2) pass)
  final       KMeans(5, n_init=10, max_iter=100, random_state=42), then
              davies_bouldin_score, calinski_harabasz_score, silhouette_score
  profiles    groupby mean of the numeric and mode of the categorical columns
segmenta does the same work in one run (explanation, maps and report switched off,
as the Python side has none of them): one sweep over k = 2..9 (n_init 10 per k)
whose fits serve the elbow, the silhouettes (all eight labelings in one pass over
the pairwise distances) and the final k = 5 model.

Usage:
  /usr/bin/python3 bench/compare/blog_kmeans.py --segmenta build/release/segmenta \
      [--data ../shared/data/bank-full.csv] [--repeat 3] [--quick] [--json FILE]
--quick times one silhouette_score + one silhouette_samples (k = 5) instead of
the whole eight-k silhouette analysis and extrapolates it (x8), saying so.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from scipy.stats import skew
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_samples, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, PowerTransformer


def ecod_fit(X, contamination=0.1):
    """pyod 1.1.0 ECOD.fit semantics with numpy: per-column ECDF tails, the
    per-element max with the skewness-selected tail, linear 90th percentile."""
    n = X.shape[0]

    def ecdf(col):
        order = np.argsort(col, kind="mergesort")
        probs = np.linspace(1.0 / n, 1.0, n)
        s = col[order]
        # ties: equal neighbours take the larger (later) probability
        for i in range(n - 2, -1, -1):
            if s[i] == s[i + 1]:
                probs[i] = probs[i + 1]
        out = np.empty(n)
        out[order] = probs
        return out

    left = np.column_stack([ecdf(X[:, j]) for j in range(X.shape[1])])
    right = np.column_stack([ecdf(-X[:, j]) for j in range(X.shape[1])])
    u_l, u_r = -np.log(left), -np.log(right)
    s = np.nan_to_num(np.sign(skew(X, axis=0)))
    u_skew = u_l * -1 * np.sign(s - 1) + u_r * np.sign(s + 1)
    o = np.maximum(np.maximum(u_l, u_r), u_skew)
    scores = o.sum(axis=1)
    threshold = np.percentile(scores, 100 * (1 - contamination))
    return scores, (scores > threshold).astype(int), threshold


def distortion(X, labels):
    total = 0.0
    for c in np.unique(labels):
        members = X[labels == c]
        total += ((members - members.mean(axis=0)) ** 2).sum()
    return total


def knee(xs, ys):
    """Knee of a convex decreasing curve, following yellowbrick 1.5's Kneedle port (S = 1)."""
    from scipy.signal import argrelextrema
    x = np.asarray(xs, float)
    y = np.asarray(ys, float)
    xn = (x - x.min()) / (x.max() - x.min())
    yn = (y - y.min()) / (y.max() - y.min())
    d = (yn.max() - yn) - xn
    maxima = argrelextrema(d, np.greater_equal)[0]
    minima = argrelextrema(d, np.less_equal)[0]
    if len(maxima) == 0:
        return None
    thresholds = d[maxima] - np.abs(np.diff(xn).mean())
    mi, threshold, threshold_index = 0, 0.0, 0
    for i in range(maxima[0], len(xn)):
        if xn[i] == 1.0:
            break
        if i in maxima:
            threshold, threshold_index = thresholds[mi], i
            mi += 1
        if i in minima:
            threshold = 0.0
        if d[i + 1] < threshold:
            return x[threshold_index]
    return None


def python_workflow(data, quick):
    t = {}
    clock = time.perf_counter()
    df = pd.read_csv(data, sep=";").iloc[:, 0:8]
    t["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    X = Pipeline([("ordinal", OrdinalEncoder()), ("power", PowerTransformer())]).fit_transform(df)
    t["prep"] = time.perf_counter() - clock

    clock = time.perf_counter()
    scores, labels, threshold = ecod_fit(X)
    t["ecod"] = time.perf_counter() - clock
    inliers = X[labels == 0]
    df_in = df[labels == 0]

    clock = time.perf_counter()
    distortions = []
    for k in range(2, 10):
        km = KMeans(n_clusters=k, init="k-means++", random_state=0, n_init=1).fit(inliers)
        distortions.append(distortion(inliers, km.labels_))
    elbow = knee(list(range(2, 10)), distortions)
    t["elbow"] = time.perf_counter() - clock

    clock = time.perf_counter()
    sil = {}
    ks = [5] if quick else list(range(2, 10))
    for k in ks:
        lab = KMeans(n_clusters=k, n_init=10, max_iter=1000, random_state=10).fit_predict(inliers)
        sil[k] = float(silhouette_score(inliers, lab))
        silhouette_samples(inliers, lab)
    t["silhouette_analysis"] = (time.perf_counter() - clock) * (8 if quick else 1)

    clock = time.perf_counter()
    km = KMeans(n_clusters=5, init="k-means++", n_init=10, max_iter=100, random_state=42).fit(inliers)
    db = davies_bouldin_score(inliers, km.labels_)
    ch = calinski_harabasz_score(inliers, km.labels_)
    s5 = silhouette_score(inliers, km.labels_)
    t["final"] = time.perf_counter() - clock

    clock = time.perf_counter()
    prof = df_in.assign(cluster=km.labels_)
    prof.groupby("cluster")[["age", "balance"]].agg(["mean", "median"])
    prof.groupby("cluster")[["job", "marital", "education", "default", "housing", "loan"]].agg(lambda s: s.mode().iloc[0])
    t["profiles"] = time.perf_counter() - clock
    t["total"] = sum(t.values())
    result = {"inliers": int(len(inliers)), "elbow": None if elbow is None else int(elbow), "silhouettes": sil,
              "final": {"davies_bouldin": db, "calinski_harabasz": ch, "silhouette": s5, "inertia": km.inertia_}}
    return t, result


def segmenta_workflow(binary, data, repeat):
    best = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as out:
            clock = time.perf_counter()
            subprocess.run([binary, "run", data, "--preset", "blog", "--method", "kmeans", "--k", "2..9", "--quiet",
                            "--no-explain", "--no-maps", "--no-report", "--out", out], check=True)
            wall = time.perf_counter() - clock
            metrics = json.load(open(os.path.join(out, "metrics.json")))
            run = json.load(open(os.path.join(out, "run.json")))
        if best is None or wall < best[0]:
            best = (wall, metrics, run)
    wall, metrics, run = best
    method = metrics["methods"]["kmeans"]
    per_k = method["sweep"]["per_k"]
    return {"wall": wall, "stages": run["timings"], "inliers": metrics["outliers"]["clustered_rows"],
            "elbow": method["sweep"]["recommendation"]["elbow"],
            "silhouettes": {p["k"]: p["silhouette"] for p in per_k},
            "final": {key: method["final"][key] for key in ("davies_bouldin", "calinski_harabasz", "silhouette", "inertia")}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segmenta", required=True)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../../shared/data/bank-full.csv"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()

    seg = segmenta_workflow(args.segmenta, args.data, args.repeat)
    py_t, py = python_workflow(args.data, args.quick)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'stage':<22}{'python (s)':>12}")
    for k, v in py_t.items():
        print(f"{k:<22}{v:>12.3f}")
    print(f"\nsegmenta whole run: {seg['wall']:.3f} s wall; stages: " +
          ", ".join(f"{k} {v:.3f}" for k, v in seg["stages"].items()))
    print(f"python workflow total: {py_t['total']:.1f} s{' (silhouette analysis extrapolated x8)' if args.quick else ''}")
    print(f"ratio python / segmenta: {py_t['total'] / seg['wall']:.0f}x")
    print(f"results  python: inliers {py['inliers']}, elbow {py['elbow']}, final {py['final']}")
    print(f"         segmenta: inliers {seg['inliers']}, elbow {seg['elbow']}, final {seg['final']}")
    print(f"silhouettes python {py['silhouettes']}\n            segmenta {seg['silhouettes']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"python": {"seconds": py_t, "results": py, "peak_rss_mb": peak_mb}, "segmenta": seg,
                       "ratio": py_t["total"] / seg["wall"], "quick": args.quick, "cpus": os.cpu_count()}, f, indent=2,
                      default=str)


if __name__ == "__main__":
    sys.exit(main())
