#!/usr/bin/python3
"""Regenerates tests/fixtures/explain/surrogate_{multiclass,binary}.json.

The golden test of the surrogate explanation (tests/golden/explain_surrogate_test.cpp)
compares segmenta's XGBoost surrogate and its TreeSHAP values with these files.

How the reference values are made:
  * a small synthetic segmentation (float32-exact values, a few missing values, one
    uninformative feature) is drawn from numpy's default_rng(seed);
  * xgboost (Debian's python3-xgboost 1.7.4, the same libxgboost the engine links)
    trains the surrogate with the engine's default settings (multi:softprob or
    binary:logistic, base_score 0.5, hist, lossguide, 31 leaves, depth unlimited,
    eta 0.1, 255 bins, 100 rounds, seed 0, one thread);
  * the reference SHAP values are Booster.predict(pred_contribs=True), and they are
    checked here against an independent pure-Python implementation of path-dependent
    TreeSHAP (Lundberg et al. 2018, Algorithm 2) run on the trees of the booster's
    JSON dump; the run fails if the two disagree by more than 1e-5;
  * the summary follows shap's summary_plot(plot_type="bar") for a list of class
    outputs: mean |phi| per class and feature over all rows, features ordered by the
    sum over classes, classes stacked by descending total. For the binary case the
    class-0 output is the negated logit (shap 0.42's convention for binary LightGBM).

Usage: /usr/bin/python3 tools/make_surrogate_fixture.py [--out DIR]
(needs python3-numpy and python3-xgboost: scripts/setup --bench).
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import xgboost as xgb

PARAMS = {
    "base_score": 0.5,
    "booster": "gbtree",
    "tree_method": "hist",
    "grow_policy": "lossguide",
    "max_leaves": 31,
    "max_depth": 0,
    "max_bin": 255,
    "eta": 0.1,
    "min_child_weight": 1.0,
    "lambda": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "seed": 0,
    "nthread": 1,
    "verbosity": 0,
}
ROUNDS = 100


def make_data(seed, n, p, k):
    """Segments driven by features 0 and 2 (plus label noise); the last feature is noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    x[:, 1] = np.round(rng.uniform(0, 4, size=n))  # a small-integer (ordinal-like) feature
    score = 1.3 * x[:, 0] - 0.8 * x[:, 2] + 0.4 * x[:, 1] + 0.6 * rng.normal(size=n)
    edges = np.quantile(score, np.linspace(0, 1, k + 1)[1:-1])
    labels = np.searchsorted(edges, score)
    x = x.astype(np.float32).astype(np.float64)  # exactly representable in float32
    missing = rng.random(size=(n, p)) < 0.03
    missing[:, 0] = False
    x[missing] = np.nan
    return x, labels.astype(np.int64)


# ---------------------------------------------------------------------------
# Independent TreeSHAP (Lundberg et al. 2018, Algorithm 2) on XGBoost's JSON trees
# ---------------------------------------------------------------------------


def extend(path, zero, one, feature):
    path = [list(e) for e in path]
    depth = len(path)
    path.append([feature, zero, one, 1.0 if depth == 0 else 0.0])
    for i in range(depth - 1, -1, -1):
        path[i + 1][3] += one * path[i][3] * (i + 1) / (depth + 1)
        path[i][3] = zero * path[i][3] * (depth - i) / (depth + 1)
    return path


def unwind(path, index):
    path = [list(e) for e in path]
    last = len(path) - 1
    one, zero = path[index][2], path[index][1]
    carry = path[last][3]
    for j in range(last - 1, -1, -1):
        if one != 0:
            saved = path[j][3]
            path[j][3] = carry * (last + 1) / ((j + 1) * one)
            carry = saved - path[j][3] * zero * (last - j) / (last + 1)
        else:
            path[j][3] = path[j][3] * (last + 1) / (zero * (last - j))
    for j in range(index, last):
        path[j][0], path[j][1], path[j][2] = path[j + 1][0], path[j + 1][1], path[j + 1][2]
    return path[:last]


def tree_shap(tree, row, phi):
    left, right = tree["left_children"], tree["right_children"]
    feat, cond = tree["split_indices"], tree["split_conditions"]
    default_left, cover = tree["default_left"], tree["sum_hessian"]

    def goes_left(node):
        v = row[feat[node]]
        if math.isnan(v):
            return bool(default_left[node])
        return np.float32(v) < np.float32(cond[node])

    def recurse(node, path, zero, one, feature):
        path = extend(path, zero, one, feature)
        if left[node] == -1:
            for i in range(1, len(path)):
                w = sum(e[3] for e in unwind(path, i))
                phi[path[i][0]] += w * (path[i][2] - path[i][1]) * cond[node]
            return
        hot, cold = (left[node], right[node]) if goes_left(node) else (right[node], left[node])
        in_zero, in_one = 1.0, 1.0
        for k in range(1, len(path)):
            if path[k][0] == feat[node]:
                in_zero, in_one = path[k][1], path[k][2]
                path = unwind(path, k)
                break
        recurse(hot, path, in_zero * cover[hot] / cover[node], in_one, feat[node])
        recurse(cold, path, in_zero * cover[cold] / cover[node], 0.0, feat[node])

    recurse(0, [], 1.0, 1.0, -1)


def node_mean(tree, node):
    left, right, cover = tree["left_children"], tree["right_children"], tree["sum_hessian"]
    if left[node] == -1:
        return tree["split_conditions"][node]
    l, r = left[node], right[node]
    return (node_mean(tree, l) * cover[l] + node_mean(tree, r) * cover[r]) / cover[node]


def independent_contributions(model_json, x, groups, base_margin):
    model = model_json["learner"]["gradient_booster"]["model"]
    trees, info = model["trees"], model["tree_info"]
    n, p = x.shape
    out = np.zeros((n, groups, p + 1))
    for g in range(groups):
        out[:, g, p] = base_margin + sum(node_mean(t, 0) for t, gi in zip(trees, info) if gi == g)
    for i in range(n):
        for t, g in zip(trees, info):
            phi = np.zeros(p)
            tree_shap(t, x[i], phi)
            out[i, g, :p] += phi
    return out


def build_case(name, seed, n, p, k):
    x, labels = make_data(seed, n, p, k)
    params = dict(PARAMS)
    if k > 2:
        params.update(objective="multi:softprob", num_class=k)
    else:
        params.update(objective="binary:logistic")
    dtrain = xgb.DMatrix(x, label=labels, missing=np.nan, nthread=1)
    booster = xgb.train(params, dtrain, ROUNDS)
    dx = xgb.DMatrix(x, missing=np.nan, nthread=1)
    margins = booster.predict(dx, output_margin=True, strict_shape=True).astype(np.float64)
    contribs = booster.predict(dx, pred_contribs=True, strict_shape=True).astype(np.float64)
    groups = 1 if k == 2 else k
    contribs = contribs.reshape(n, groups, p + 1)

    base_margin = 0.0 if k == 2 else 0.5  # logit(0.5) for binary:logistic, 0.5 for softprob
    model_json = json.loads(booster.save_raw("json"))
    oracle = independent_contributions(model_json, x, groups, base_margin)
    oracle_diff = float(np.max(np.abs(oracle - contribs)))
    additivity = float(np.max(np.abs(contribs.sum(axis=2) - margins.reshape(n, groups))))
    print(f"{name}: independent TreeSHAP vs pred_contribs max |diff| = {oracle_diff:.3g}, "
          f"additivity {additivity:.3g}", file=sys.stderr)
    if oracle_diff > 1e-5:
        sys.exit(f"{name}: the two TreeSHAP implementations disagree ({oracle_diff})")

    # The K class outputs as shap lists them.
    if k == 2:
        per_class = np.stack([-contribs[:, 0, :], contribs[:, 0, :]], axis=1)
        class_margins = np.stack([-margins[:, 0], margins[:, 0]], axis=1)
    else:
        per_class = contribs
        class_margins = margins.reshape(n, k)
    mean_abs = np.abs(per_class[:, :, :p]).mean(axis=0)  # (k, p)
    importance = mean_abs.sum(axis=0)
    feature_order = sorted(range(p), key=lambda j: (-importance[j], j))
    class_order = sorted(range(k), key=lambda c: (-mean_abs[c].sum(), c))
    predicted = np.argmax(class_margins, axis=1)
    accuracy = float(np.mean(predicted == labels))

    def clean(a):
        return [None if isinstance(v, float) and math.isnan(v) else v for v in a]

    return {
        "description": f"{name}: {n} rows x {p} features, {k} segments; see tools/make_surrogate_fixture.py",
        "xgboost_version": xgb.__version__,
        "params": {**{kk: vv for kk, vv in params.items()}, "rounds": ROUNDS},
        "x": [clean([float(v) for v in row]) for row in x],
        "labels": [int(v) for v in labels],
        "n_trees": len(model_json["learner"]["gradient_booster"]["model"]["trees"]),
        "margins": [[float(v) for v in row] for row in class_margins],
        "contributions": [[[float(v) for v in block] for block in row] for row in per_class],
        "bias": [float(v) for v in per_class[0, :, p]],
        "mean_abs_shap": [[float(v) for v in row] for row in mean_abs],
        "feature_importance": [float(v) for v in importance],
        "feature_order": feature_order,
        "class_order": class_order,
        "train_accuracy": accuracy,
        "oracle_max_abs_diff": oracle_diff,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "explain"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, seed, n, p, k in (("multiclass", 7, 160, 5, 4), ("binary", 11, 120, 4, 2)):
        case = build_case(name, seed, n, p, k)
        path = os.path.join(args.out, f"surrogate_{name}.json")
        with open(path, "w") as f:
            json.dump(case, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
