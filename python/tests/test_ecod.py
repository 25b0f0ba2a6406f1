"""ECOD against pyod's golden scores and a direct numpy ECOD for new rows."""

import numpy as np
import pandas as pd
import pytest

import segmenta
from conftest import read_json


@pytest.fixture(scope="module")
def blog_matrix(golden):
    return pd.read_csv(golden / "prep" / "blog_transformed.csv").drop(columns="row").to_numpy()


def test_training_scores_match_pyod(blog_matrix, golden):
    ref = pd.read_csv(golden / "ecod" / "ecod_scores.csv")
    summary = read_json(golden / "ecod" / "ecod_summary.json")
    clf = segmenta.ECOD(contamination=0.1).fit(blog_matrix)
    np.testing.assert_allclose(clf.decision_scores_, ref["decision_score"].to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(clf.labels_, ref["label"].to_numpy())
    assert clf.threshold_ == pytest.approx(summary["threshold"], rel=1e-12)
    assert int(clf.labels_.sum()) == 4520


def direct_ecod(X):
    """pyod 1.1's ECOD fit on X written out with numpy (ECDF ladder from linspace,
    skewness sign, per-element max of the tails)."""
    n = X.shape[0]
    ladder = np.linspace(1 / n, 1, n)

    def ecdf(col):
        order = np.sort(col)
        return ladder[np.searchsorted(order, col, side="right") - 1]

    U_l = -np.log(np.column_stack([ecdf(X[:, j]) for j in range(X.shape[1])]))
    U_r = -np.log(np.column_stack([ecdf(-X[:, j]) for j in range(X.shape[1])]))
    m = X.mean(axis=0)
    skew = ((X - m) ** 3).mean(axis=0) / ((X - m) ** 2).mean(axis=0) ** 1.5
    s = np.sign(skew)
    U_skew = U_l * -1 * np.sign(s - 1) + U_r * np.sign(s + 1)
    return np.maximum(np.maximum(U_l, U_r), U_skew).sum(axis=1)


def test_new_rows_score_as_if_appended_alone(blog_matrix):
    rng = np.random.default_rng(0)
    train = blog_matrix[rng.choice(len(blog_matrix), 2000, replace=False)]
    clf = segmenta.ECOD().fit(train)
    np.testing.assert_allclose(clf.decision_scores_, direct_ecod(train), rtol=1e-10)
    new = rng.normal(size=(5, train.shape[1]))
    got = clf.decision_function(new)
    for i in range(5):
        want = direct_ecod(np.vstack([train, new[i]]))[-1]
        assert got[i] == pytest.approx(want, rel=1e-10)
    # a batch's scores do not depend on the other rows of the batch
    np.testing.assert_array_equal(clf.decision_function(new[:2]), got[:2])
    np.testing.assert_array_equal(clf.predict(new), (got > clf.threshold_).astype(int))
    proba = clf.predict_proba(new)
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1)


def test_errors():
    X = np.random.default_rng(1).normal(size=(50, 3))
    with pytest.raises(ValueError, match="contamination"):
        segmenta.ECOD(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        bad = X.copy()
        bad[0, 0] = np.nan
        segmenta.ECOD().fit(bad)
    with pytest.raises(ValueError, match="minimum of 2"):
        segmenta.ECOD().fit(X[:1])
    clf = segmenta.ECOD().fit(X)
    with pytest.raises(ValueError, match="features"):
        clf.decision_function(X[:, :2])
