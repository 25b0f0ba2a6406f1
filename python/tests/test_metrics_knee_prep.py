"""Metrics against scikit-learn (same process) and the golden scores; the knee
against yellowbrick's (golden); PowerTransformer against scikit-learn."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import PowerTransformer as SkPowerTransformer

import segmenta
from conftest import blobs, read_json


def test_metrics_match_scikit_learn():
    X, y = blobs(n=600, centers=4, p=5, seed=8)
    assert segmenta.silhouette_score(X, y) == pytest.approx(skm.silhouette_score(X, y), abs=1e-12)
    np.testing.assert_allclose(segmenta.silhouette_samples(X, y), skm.silhouette_samples(X, y), atol=1e-12)
    assert segmenta.calinski_harabasz_score(X, y) == pytest.approx(skm.calinski_harabasz_score(X, y), rel=1e-10)
    assert segmenta.davies_bouldin_score(X, y) == pytest.approx(skm.davies_bouldin_score(X, y), rel=1e-10)
    z = (y + np.arange(600)) % 3
    assert segmenta.adjusted_rand_score(y, z) == pytest.approx(skm.adjusted_rand_score(y, z), abs=1e-12)
    assert segmenta.adjusted_mutual_info_score(y, z) == pytest.approx(skm.adjusted_mutual_info_score(y, z), abs=1e-10)
    many = segmenta.silhouette_samples_many(X, [y, z])
    np.testing.assert_allclose(many[0], skm.silhouette_samples(X, y), atol=1e-12)
    np.testing.assert_allclose(many[1], skm.silhouette_samples(X, z), atol=1e-12)
    # string labels, float32 data
    names = np.array(["a", "b", "c", "d"])[y]
    assert segmenta.silhouette_score(X, names) == pytest.approx(skm.silhouette_score(X, y), abs=1e-12)
    assert segmenta.silhouette_score(X.astype(np.float32), y) == pytest.approx(skm.silhouette_score(X, y), abs=1e-6)
    s = segmenta.silhouette_score(X, y, sample_size=200, random_state=0)
    assert abs(s - skm.silhouette_score(X, y)) < 0.05


def test_golden_scores(inliers, golden):
    ref = read_json(golden / "metrics" / "scores.json")["fixed_init"]
    labels = pd.read_csv(golden / "kmeans" / "labels.csv")["fixed_init_label"].to_numpy()
    X = inliers.to_numpy()
    assert segmenta.calinski_harabasz_score(X, labels) == pytest.approx(ref["calinski_harabasz_score"], rel=1e-10)
    assert segmenta.davies_bouldin_score(X, labels) == pytest.approx(ref["davies_bouldin_score"], rel=1e-10)


def test_metric_errors():
    X, y = blobs(n=50)
    with pytest.raises(ValueError, match="number of labels is 1"):
        segmenta.silhouette_score(X, np.zeros(50, dtype=int))
    with pytest.raises(ValueError, match="labels"):
        segmenta.silhouette_score(X, y[:10])
    with pytest.raises(ValueError, match="metric"):
        segmenta.silhouette_score(X, y, metric="cosine")


def test_knee_matches_yellowbrick(golden):
    for curve in read_json(golden / "kmeans" / "knee_synthetic.json")["cases"]:
        for nature, direction in (("convex", "decreasing"), ("concave", "increasing")):
            key = f"knee_{nature}_{direction}"
            k = segmenta.KneeLocator(curve["x"], curve["y"], curve_nature=nature, curve_direction=direction)
            want = curve[key]
            assert (k.knee is None and want is None) or k.knee == pytest.approx(want), (curve["name"], key)
    elbow = read_json(golden / "kmeans" / "elbow.json")
    k = segmenta.KneeLocator(elbow["k"], elbow["distortion"], curve_nature="convex", curve_direction="decreasing")
    assert k.elbow == elbow["elbow_k"]


def test_power_transformer_matches_scikit_learn(bank):
    X = bank[["age", "balance", "duration"]].to_numpy(dtype=float)
    ours = segmenta.PowerTransformer().fit(X)
    ref = SkPowerTransformer().fit(X)
    np.testing.assert_allclose(ours.lambdas_, ref.lambdas_, rtol=1e-6)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-6)
    np.testing.assert_allclose(ours.fit_transform(X), ours.transform(X), atol=1e-12)
    raw = segmenta.PowerTransformer(standardize=False).fit(X)
    np.testing.assert_allclose(raw.transform(X), SkPowerTransformer(standardize=False).fit_transform(X), rtol=1e-5)
    with pytest.raises(ValueError, match="method"):
        segmenta.PowerTransformer(method="box-cox").fit(X)


def test_golden_blog_power_transformer(golden):
    codes = pd.read_csv(golden / "prep" / "blog_ordinal_codes.csv").drop(columns="row").to_numpy(dtype=float)
    want = pd.read_csv(golden / "prep" / "blog_transformed.csv").drop(columns="row").to_numpy()
    got = segmenta.PowerTransformer().fit_transform(codes)
    np.testing.assert_allclose(got, want, atol=1e-6)
