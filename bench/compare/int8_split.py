#!/usr/bin/python3
"""Where the int8 mode's error comes from: agreement with fp32 of the sentence vectors
when chosen linear layers run in int8 and the others in fp32 or bf16.

  1. bench_embed_encoder --int8-split=DIR --every=N --plans=... encodes every N-th blog
     sentence (bank-full.csv, the blog's template; MiniLM-shaped random model, as
     bench/compare/embed_torch.py) in fp32 and under each plan: four letters for the
     linear layers of every block, Q|K|V, attention output, FFN1, FFN2, each i (int8),
     b (bf16) or f (fp32); "iiii" is int8 everywhere, "bbbb" the bf16 mode.
  2. This script compares each plan's vectors with the fp32 ones: cosine (min, 0.1 %
     quantile, mean), the error left after removing the offset shared by all vectors, as
     a share of the data's spread, and the adjusted Rand index of k-means (k = 5,
     scikit-learn, n_init 50, seed 0 on both) labels against the fp32 labels, also from
     the fp32 solution's centres (n_init 1) and for fp32 from another seed (how stable the
     optimum itself is on the chosen sentences).

Usage:
  /usr/bin/python3 bench/compare/int8_split.py --bench build/default/bench/bench_embed_encoder \\
      [--dir /tmp/segmenta-int8-split] [--every 10] [--plans iiii,ifff,...] [--json FILE]
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path of bench_embed_encoder")
    ap.add_argument("--dir", default="/tmp/segmenta-int8-split")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--plans", default="iiii,ifff,fiff,ffif,fffi,biii,ibii,iibi,iiib,bbbb")
    ap.add_argument("--skip-segmenta", action="store_true", help="reuse the vectors in DIR")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not args.skip_segmenta:
        if not args.bench:
            ap.error("--bench is required")
        cmd = [args.bench, f"--int8-split={args.dir}", f"--every={args.every}", f"--plans={args.plans}"]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True, env=dict(os.environ, SEGMENTA_THREADS="2"))
    seg = json.load(open(os.path.join(args.dir, "split.json")))

    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    f = np.load(os.path.join(args.dir, "vectors_ffff.npy")).astype(np.float64)
    spread = float(((f - f.mean(0)) ** 2).sum(1).mean())
    fit = KMeans(n_clusters=5, n_init=50, random_state=0).fit(f)
    base = fit.labels_
    # fp32 against itself from another seed: how stable the optimum is on these sentences.
    other = adjusted_rand_score(base, KMeans(n_clusters=5, n_init=50, random_state=1).fit(f).labels_)
    print(f"fp32, other seed: ARI {other:.4f}", flush=True)
    rows = {}
    for tag in dict.fromkeys(args.plans.split(",")):
        path = os.path.join(args.dir, f"vectors_{tag}.npy")
        if not os.path.exists(path):
            continue
        x = np.load(path).astype(np.float64)
        c = (x * f).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(f, axis=1))
        d = x - f
        m = d.mean(0)
        ari = adjusted_rand_score(base, KMeans(n_clusters=5, n_init=50, random_state=0).fit(x).labels_)
        # Started from the fp32 solution's centres: what the precision alone moves.
        ari_c = adjusted_rand_score(base, KMeans(n_clusters=5, init=fit.cluster_centers_, n_init=1).fit(x).labels_)
        rows[tag] = {"min_cosine": float(c.min()), "p001_cosine": float(np.quantile(c, 0.001)),
                     "mean_cosine": float(c.mean()), "one_minus_mean_cosine": float(1 - c.mean()),
                     "error_sq_mean": float((d ** 2).sum(1).mean()),
                     "error_rest_over_spread": float(((d - m) ** 2).sum(1).mean() / spread),
                     "ari_n_init50": float(ari), "ari_from_fp32_centres": float(ari_c), "seconds": seg["runs"][tag]["seconds"],
                     "cpu_seconds": seg["runs"][tag].get("cpu_seconds", []),
                     "foreign_cores": seg["runs"][tag].get("foreign_cores", [])}
        r = rows[tag]
        for key in ("seconds", "cpu_seconds", "foreign_cores"):
            if not isinstance(r[key], list):
                r[key] = [r[key]]
        print(f"{tag}: min cos {r['min_cosine']:.6f}  1-mean {r['one_minus_mean_cosine']:.3e}  "
              f"rest/spread {100 * r['error_rest_over_spread']:.3f} %  ARI {r['ari_n_init50']:.4f} (from fp32 centres {r['ari_from_fp32_centres']:.4f})  "
              f"{min(r['seconds']):.1f} s", flush=True)
    result = {"sentences": seg["sentences"], "every": seg["every"], "int8_kernel": seg["int8_kernel"],
              "default_int8_plan": seg["default_int8_plan"], "fp32_seconds": seg["runs"]["ffff"]["seconds"],
              "ari_n_init50_fp32_other_seed": float(other),
              "plans": rows}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
