"""ECOD outlier detection with pyod's interface."""

import numpy as np

from . import _core
from ._base import Estimator, as_matrix, check_fitted, check_float, check_n_features


class ECOD(Estimator):
    """Empirical-cumulative-distribution outlier detection, pyod 1.1's ECOD.

    Fitted: ``decision_scores_`` (training scores), ``threshold_`` (the
    100 (1 - contamination) percentile of them), ``labels_`` (1 = outlier, 0 =
    inlier, pyod's convention). ``decision_function(X)`` scores new rows against the
    frozen training data: pyod refits on training + new rows there (its issue #401);
    here each new row is scored as if appended alone to the training set, so scores
    do not depend on the other rows of the batch. ``predict`` is
    ``decision_function(X) > threshold_`` as 0/1. ``n_jobs`` is accepted for pyod's
    signature; the engine's thread count applies. A constant column contributes 0
    (pyod's scores become NaN there).
    """

    def __init__(self, contamination=0.1, n_jobs=1):
        self.contamination = contamination
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        c = check_float(self.contamination, "contamination", 0.0, 0.5, low_open=True)
        X = as_matrix(X, min_rows=2)
        r = _core.ecod_fit(X, c)
        self.decision_scores_ = r["decision_scores"]
        self.labels_ = r["labels"].astype(np.int64)
        self.threshold_ = float(r["threshold"])
        # The training columns as distinct values with counts (see _core.ecod_fit).
        self._columns = (r["values"], r["counts"], r["distinct"], int(r["n_train"]))
        self._skew_sign = r["skew_sign"]
        self._contamination = c
        self.n_features_in_ = X.shape[1]
        return self

    def _score(self, X, training):
        check_fitted(self, "decision_scores_")
        X = as_matrix(X)
        check_n_features(self, X)
        return _core.ecod_score(*self._columns, self._skew_sign, self.threshold_, self._contamination, X, training)

    def decision_function(self, X):
        """Outlier scores of new rows (higher = more abnormal) against the training data."""
        return self._score(X, False)

    def score_samples(self, X):
        return self.decision_function(X)

    def predict(self, X):
        """1 for outliers (score > threshold_), 0 for inliers."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def predict_proba(self, X, method="linear"):
        """pyod's linear probability: scores min-max scaled by the training scores,
        clipped to [0, 1]; columns (inlier, outlier)."""
        if method != "linear":
            raise ValueError(f"method: only 'linear' is supported, got {method!r}")
        s = self.decision_function(X)
        lo, hi = self.decision_scores_.min(), self.decision_scores_.max()
        p = np.clip((s - lo) / (hi - lo) if hi > lo else np.zeros_like(s), 0, 1)
        return np.column_stack([1 - p, p])
