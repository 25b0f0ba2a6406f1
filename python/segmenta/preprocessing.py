"""PowerTransformer (scikit-learn's, Yeo-Johnson)."""

import numpy as np

from . import _core
from ._base import Estimator, as_matrix, check_fitted, check_n_features


class PowerTransformer(Estimator):
    """scikit-learn's PowerTransformer(method='yeo-johnson'): one lambda per column by
    maximum likelihood (Brent's method to round-off, where scikit-learn stops at
    1.48e-8), then standardisation. ``lambdas_``, ``transform``, ``fit_transform``.
    NaN passes through as in scikit-learn. Box-Cox is not supported."""

    def __init__(self, method="yeo-johnson", *, standardize=True, copy=True):
        self.method = method
        self.standardize = standardize
        self.copy = copy

    def fit(self, X, y=None):
        if self.method != "yeo-johnson":
            raise ValueError(f"method: only 'yeo-johnson' is supported, got {self.method!r}")
        X = as_matrix(X)
        r = _core.power_fit(X, bool(self.standardize))
        self.lambdas_ = r["lambdas"]
        self._mean, self._scale = r["mean"], r["scale"]
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        check_fitted(self, "lambdas_")
        X = as_matrix(X)
        check_n_features(self, X)
        return _core.power_transform(self.lambdas_, bool(self.standardize), self._mean, self._scale, X)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)
