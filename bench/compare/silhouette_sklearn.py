#!/usr/bin/env python3
"""Side-by-side timing of the exact silhouette: scikit-learn against segmenta's
bench_metrics_silhouette, on the same machine and the same inputs, in one run.

Inputs (identical on both sides):
  blog        ../shared/golden/kmeans/inlier_matrix.csv (40691 x 8, float64) with the
              fixed-init k = 5 labels of ../shared/golden/kmeans/labels.csv
  analysis    the same matrix with the eight labelings k = 2..9 of
              ../shared/golden/kmeans/elbow_labels.csv: the blog's silhouette
              analysis, i.e. per k one silhouette_score and one silhouette_samples
  embeddings  45211 x 384 float32 random unit vectors (numpy default_rng(12345)),
              labels = argmax of the float32 dot products with rows 0..4; written to
              a raw file that the C++ benchmark reads through SEGMENTA_BENCH_VECTORS

scikit-learn side (1.2.1): sklearn.metrics.silhouette_score / silhouette_samples
with default settings (euclidean, chunked pairwise distances, 1 GiB working memory).
The full analysis takes ~210 s on 2 cores; by default it is estimated from one
silhouette_score + one silhouette_samples at k = 5, times eight (the cost of a pass
does not depend on k), and the output says so; --full-analysis runs all sixteen.

Usage:
  /usr/bin/python3 bench/compare/silhouette_sklearn.py \
      --bench build/release/bench/bench_metrics_silhouette \
      [--shared ../shared] [--repeat 1] [--full-analysis] [--skip-embeddings] \
      [--json bench/results/silhouette_compare.json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import silhouette_samples, silhouette_score

VEC_ROWS, VEC_DIM, VEC_CLUSTERS = 45211, 384, 5


def unit_vectors():
    rng = np.random.default_rng(12345)
    v = rng.standard_normal((VEC_ROWS, VEC_DIM))
    v /= np.sqrt((v * v).sum(axis=1, keepdims=True))
    return v.astype(np.float32)


def nearest_of_first(v):
    return np.argmax(v @ v[:VEC_CLUSTERS].T, axis=1).astype(np.int32)


def best_time(fn, repeat):
    best, value = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        t = time.perf_counter() - t0
        best = t if best is None else min(best, t)
    return best, value


def run_segmenta(bench, vectors_path, skip_embeddings):
    env = dict(os.environ)
    env["SEGMENTA_BENCH_VECTORS"] = vectors_path
    flt = "BM_Silhouette(Blog|AnalysisK2to9)" if skip_embeddings else "BM_Silhouette"
    out = subprocess.run([bench, "--benchmark_format=json", "--benchmark_filter=" + flt],
                         env=env, check=True, capture_output=True, text=True).stdout
    result = {}
    for b in json.loads(out)["benchmarks"]:
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
        result[b["name"].split("/")[0]] = {"seconds": b["real_time"] * unit,
                                           "counters": {k: v for k, v in b.items()
                                                        if k in ("silhouette", "sum_of_scores", "threads")}}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "..", "shared"))
    ap.add_argument("--bench", help="path of bench_metrics_silhouette (omit to time scikit-learn only)")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--full-analysis", action="store_true")
    ap.add_argument("--skip-embeddings", action="store_true")
    ap.add_argument("--write-vectors", help="also keep the float32 vectors in this file")
    ap.add_argument("--json")
    args = ap.parse_args()

    golden = os.path.join(args.shared, "golden")
    X = pd.read_csv(os.path.join(golden, "kmeans", "inlier_matrix.csv")).iloc[:, 1:].to_numpy(np.float64)
    fixed = pd.read_csv(os.path.join(golden, "kmeans", "labels.csv"))["fixed_init_label"].to_numpy()
    elbow = pd.read_csv(os.path.join(golden, "kmeans", "elbow_labels.csv"))

    report = {"machine_note": "shared 2-core machine; wall-clock timings are noisy",
              "sklearn_version": sklearn.__version__, "cpu_count": os.cpu_count(), "sklearn": {}}
    sk = report["sklearn"]

    t, s = best_time(lambda: silhouette_score(X, fixed), args.repeat)
    sk["BM_SilhouetteBlog"] = {"seconds": t, "silhouette": float(s), "what": "silhouette_score, 40691 x 8, k = 5"}
    print(f"scikit-learn silhouette_score 40691x8 k=5: {t:.2f} s (score {s:.10f})", flush=True)

    if args.full_analysis:
        def analysis():
            scores = []
            for k in range(2, 10):
                labels = elbow[f"k{k}"].to_numpy()
                scores.append(silhouette_score(X, labels))
                silhouette_samples(X, labels)
            return scores
        t, scores = best_time(analysis, args.repeat)
        sk["BM_SilhouetteAnalysisK2to9"] = {"seconds": t, "estimated": False, "scores": [float(v) for v in scores],
                                            "what": "per k = 2..9 silhouette_score + silhouette_samples"}
        print(f"scikit-learn silhouette analysis k=2..9: {t:.1f} s (measured)", flush=True)
    else:
        labels = elbow["k5"].to_numpy()
        t1, _ = best_time(lambda: silhouette_score(X, labels), args.repeat)
        t2, _ = best_time(lambda: silhouette_samples(X, labels), args.repeat)
        sk["BM_SilhouetteAnalysisK2to9"] = {"seconds": 8 * (t1 + t2), "estimated": True,
                                            "what": "8 x (silhouette_score + silhouette_samples at k = 5), "
                                                    f"measured {t1:.2f} s + {t2:.2f} s"}
        print(f"scikit-learn silhouette analysis k=2..9: {8 * (t1 + t2):.1f} s (ESTIMATED as 8 x "
              f"({t1:.2f} s score + {t2:.2f} s samples) at k = 5)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        vec_path = args.write_vectors or os.path.join(tmp, "vectors.f32")
        if not args.skip_embeddings:
            V = unit_vectors()
            V.tofile(vec_path)
            vl = nearest_of_first(V)
            t, s = best_time(lambda: silhouette_score(V, vl), args.repeat)
            sk["BM_SilhouetteEmbeddings384"] = {"seconds": t, "silhouette": float(s),
                                                "what": "silhouette_score, 45211 x 384 float32, k = 5"}
            print(f"scikit-learn silhouette_score 45211x384 f32: {t:.2f} s (score {s:.6f})", flush=True)
        if args.bench:
            seg = run_segmenta(args.bench, vec_path, args.skip_embeddings)
            report["segmenta"] = seg
            report["ratio_sklearn_over_segmenta"] = {}
            for name, ref in sk.items():
                if name in seg:
                    ratio = ref["seconds"] / seg[name]["seconds"]
                    report["ratio_sklearn_over_segmenta"][name] = ratio
                    print(f"{name}: scikit-learn {ref['seconds']:.2f} s, segmenta {seg[name]['seconds']:.3f} s "
                          f"-> {ratio:.0f}x{' (scikit-learn side estimated)' if ref.get('estimated') else ''}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
