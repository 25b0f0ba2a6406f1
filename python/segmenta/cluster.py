"""Clustering estimators: KMeans (scikit-learn's), KPrototypes and KModes (kmodes')."""

import numpy as np

from . import _core
from ._base import (Estimator, is_numeric_dtype, as_matrix, check_fitted, check_float, check_int, check_n_features, seed_of,
                    NotFittedError)


class KMeans(Estimator):
    """k-means++ / Lloyd, scikit-learn's KMeans(algorithm='lloyd') semantics.

    Same parameter names and fitted attributes as scikit-learn. Differences: no
    sample_weight (fit has no such parameter); the
    random streams are segmenta's own (same random_state, other k-means++ draws than
    numpy's), random_state=None means seed 0 (runs are always reproducible), and
    float32 input stays float32 (centre sums in double). Results do not depend on the
    number of threads.
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init=10, max_iter=300, tol=1e-4, random_state=None):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_params(self, X):
        k = check_int(self.n_clusters, "n_clusters", 1)
        if X.shape[0] < k:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={k}.")
        n_init = self.n_init
        if isinstance(n_init, str) and n_init == "auto":
            n_init = 1 if isinstance(self.init, str) and self.init == "k-means++" else 10
        n_init = check_int(n_init, "n_init", 1)
        max_iter = check_int(self.max_iter, "max_iter", 1)
        tol = check_float(self.tol, "tol", 0.0)
        init_centers = None
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(f"init: must be 'k-means++', 'random' or an array, got {self.init!r}")
            init = self.init
        else:
            init_centers = as_matrix(self.init, "init", allow_float32=True).astype(X.dtype, copy=False)
            if init_centers.shape != (k, X.shape[1]):
                raise ValueError(f"init: expected shape ({k}, {X.shape[1]}), got {init_centers.shape}")
            init = "array"
        return k, n_init, max_iter, tol, init, init_centers

    def fit(self, X, y=None):
        X = as_matrix(X, allow_float32=True)
        k, n_init, max_iter, tol, init, init_centers = self._check_params(X)
        r = _core.kmeans_fit(X, k, n_init, max_iter, tol, seed_of(self.random_state), init, init_centers)
        self.cluster_centers_ = r["cluster_centers"]
        self.labels_ = r["labels"].astype(np.int32)
        self.inertia_ = float(r["inertia"])
        self.n_iter_ = int(r["n_iter"])
        self.n_features_in_ = X.shape[1]
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def _prepared(self, X):
        check_fitted(self, "cluster_centers_")
        X = as_matrix(X, allow_float32=True)
        check_n_features(self, X)
        return np.ascontiguousarray(X, dtype=self.cluster_centers_.dtype)

    def predict(self, X):
        X = self._prepared(X)
        return _core.kmeans_predict(self.cluster_centers_, X)

    def transform(self, X):
        X = self._prepared(X)
        return _core.kmeans_transform(self.cluster_centers_, X)

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Opposite of the inertia of X on the fitted centres (scikit-learn's score)."""
        d = self.transform(X).astype(np.float64)
        return -float(np.sum(np.min(d, axis=1) ** 2))


# ---------------------------------------------------------------------------
# k-prototypes and k-modes
# ---------------------------------------------------------------------------


def _columns(X):
    """The columns of X (a DataFrame, or anything numpy reads as 2-D) as a list of
    1-D arrays, with their names when X has them."""
    if hasattr(X, "iloc") and hasattr(X, "columns"):
        return [X.iloc[:, j].to_numpy() for j in range(X.shape[1])], [str(c) for c in X.columns]
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError("X: sparse input is not supported; pass a dense array")
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X: expected a 2-D array, got {arr.ndim}-D. Reshape your data with X.reshape(-1, 1) "
                         "for one feature or X.reshape(1, -1) for one sample")
    if arr.dtype.kind == "c":
        raise ValueError("X: Complex data not supported")
    if arr.shape[1] == 0:
        raise ValueError(f"X: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if arr.shape[0] == 0:
        raise ValueError(f"X: found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required.")
    return [arr[:, j] for j in range(arr.shape[1])], [str(j) for j in range(arr.shape[1])]


def _missing(values):
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype == object:
        return np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def _encode_fit(values, name):
    """kmodes' encoding of a categorical column: code = index of the value among the
    column's sorted distinct values."""
    if hasattr(values, "categories"):  # pandas Categorical
        values = np.asarray(values, dtype=object)
    if _missing(values).any():
        raise ValueError(f"column '{name}': missing values (None or NaN) in a categorical column; fill them first")
    if values.dtype.kind == "f" and np.isinf(values).any():
        raise ValueError(f"column '{name}': contains infinity")
    try:
        levels, codes = np.unique(values, return_inverse=True)
    except TypeError:  # mixed types: compare as text
        levels, codes = np.unique(values.astype(str), return_inverse=True)
    return levels, np.asarray(codes, dtype=np.int32)


def _encode_apply(values, levels):
    """Codes of new values against fitted levels; -1 (matches no mode) when unseen."""
    values = np.asarray(values, dtype=object) if hasattr(values, "categories") else values
    lookup = {v: i for i, v in enumerate(levels.tolist())}
    out = np.fromiter((lookup.get(v, -1) for v in values.tolist()), dtype=np.int32, count=len(values))
    return out


def _numeric(values, name):
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"column '{name}': not numeric; list it in categorical=") from None
    if not np.isfinite(v).all():
        row = int(np.argwhere(~np.isfinite(v))[0][0])
        raise ValueError(f"column '{name}': contains NaN or infinity (row {row})")
    return v


class KPrototypes(Estimator):
    """Huang's k-prototypes with kmodes 0.12's signature and semantics.

    ``fit(X, categorical=[...])`` as in kmodes: X is a DataFrame or an array (object
    arrays with strings included); the listed columns are categorical, the others
    numeric. Categories are encoded as kmodes does (index among the sorted distinct
    values). Fitted: ``labels_``, ``cluster_centroids_`` (numeric prototype values
    followed by the categorical modes, as kmodes returns them), ``cost_``,
    ``n_iter_``, ``epoch_costs_``, ``gamma_`` (the gamma used; kmodes overwrites its
    ``gamma`` parameter with it, which this class does not, so a refit on other data
    computes it again). Differences: segmenta's random
    streams (same random_state, other draws); random_state=None means 0; categories
    unseen at fit mismatch every mode in predict (kmodes raises); the default gamma is
    0.5 x the mean of the numeric columns' standard deviations (kmodes' documented
    rule; the released 0.12.2 pools all numeric values). ``algorithm='batch'`` selects
    segmenta's parallel Lloyd-style variant.
    """

    def __init__(self, n_clusters=8, *, max_iter=100, num_dissim=None, cat_dissim=None, init="Cao", n_init=10,
                 gamma=None, verbose=0, random_state=None, n_jobs=1, algorithm="online"):
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.num_dissim = num_dissim
        self.cat_dissim = cat_dissim
        self.init = init
        self.n_init = n_init
        self.gamma = gamma
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.algorithm = algorithm

    _kmodes = False  # KModes: every column categorical

    def _split(self, X, categorical):
        cols, names = _columns(X)
        p = len(cols)
        if categorical is None and hasattr(X, "dtypes"):
            categorical = [j for j, t in enumerate(X.dtypes) if not is_numeric_dtype(t)]
        if self._kmodes:
            categorical = list(range(p))
        if categorical is None:
            raise ValueError("categorical: list the categorical columns (indices), e.g. categorical=[1, 2]")
        if isinstance(categorical, (int, np.integer)):
            categorical = [categorical]
        cat = []
        for c in categorical:
            if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or not -p <= c < p:
                raise ValueError(f"categorical: {c!r} is not a column index of X (it has {p} columns)")
            cat.append(int(c) % p)
        if len(set(cat)) != len(cat):
            raise ValueError("categorical: lists a column twice")
        num = [j for j in range(p) if j not in set(cat)]
        if not cat:
            raise ValueError("categorical: no categorical column; use KMeans for numeric data")
        if not num and not self._kmodes:
            raise ValueError(f"categorical: every column is categorical (n_features = {p}); use KModes for "
                             "categorical data")
        return cols, names, num, sorted(cat)

    def _params(self, n):
        if self.num_dissim is not None or self.cat_dissim is not None:
            raise ValueError("num_dissim, cat_dissim: only kmodes' default dissimilarities are supported")
        k = check_int(self.n_clusters, "n_clusters", 1)
        if n < k:
            raise ValueError(f"n_samples={n} should be >= n_clusters={k}.")
        max_iter = check_int(self.max_iter, "max_iter", 1)
        n_init = check_int(self.n_init, "n_init", 1)
        if self.algorithm not in ("online", "batch"):
            raise ValueError(f"algorithm: must be 'online' or 'batch', got {self.algorithm!r}")
        return k, max_iter, n_init

    def fit(self, X, y=None, categorical=None, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("sample_weight: weighted k-prototypes is not supported")
        cols, names, num, cat = self._split(X, categorical)
        n = len(cols[0]) if cols else 0
        if n == 0:
            raise ValueError("X: has no rows")
        k, max_iter, n_init = self._params(n)
        if num:
            numeric = np.ascontiguousarray(np.column_stack([_numeric(cols[j], names[j]) for j in num]))
        else:  # KModes: one constant numeric column, which never adds to a dissimilarity
            numeric = np.zeros((n, 1))
        levels, codes = [], []
        for j in cat:
            lv, cd = _encode_fit(cols[j], names[j])
            levels.append(lv)
            codes.append(cd)
        codes = np.ascontiguousarray(np.column_stack(codes), dtype=np.int32)
        gamma = self.gamma
        if self._kmodes:
            gamma = 1.0
        elif gamma is not None:
            gamma = check_float(gamma, "gamma", 0.0)
        init, init_centroids, init_modes = self.init, None, None
        if isinstance(init, str):
            if init.lower() not in ("huang", "cao"):
                raise ValueError(f"init: must be 'Huang', 'Cao' or a list [centroids, modes], got {init!r}")
        else:
            if self._kmodes:
                init_centroids, init_modes = np.zeros((k, 1)), np.asarray(init)
            else:
                if len(init) != 2:
                    raise ValueError("init: a list [numeric centroids (k, p_num), categorical codes (k, p_cat)]")
                init_centroids, init_modes = np.asarray(init[0], dtype=np.float64), np.asarray(init[1])
            init_centroids = np.ascontiguousarray(init_centroids, dtype=np.float64)
            init_modes = np.ascontiguousarray(init_modes, dtype=np.int32)
            init = "array"
        r = _core.kprototypes_fit(numeric, codes, k, n_init, max_iter, init, gamma, seed_of(self.random_state),
                                  self.algorithm == "batch", init_centroids, init_modes)
        self._numeric_columns, self._categorical_columns = num, cat
        self._levels = levels
        self._centroids, self._modes = r["centroids"], r["modes"]
        self._n_categories = r["n_categories"]
        self.labels_ = r["labels"].astype(np.int32)
        self.cost_ = float(r["cost"])
        self.n_iter_ = int(r["n_iter"])
        self.epoch_costs_ = list(r["epoch_costs"])
        self.gamma_ = float(r["gamma"])
        modes = np.empty(self._modes.shape, dtype=object)
        for j, lv in enumerate(levels):
            modes[:, j] = lv[self._modes[:, j]]
        self.cluster_centroids_ = modes if self._kmodes else np.hstack([self._centroids.astype(object), modes])
        self.n_features_in_ = len(cols)
        return self

    def fit_predict(self, X, y=None, categorical=None, sample_weight=None):
        return self.fit(X, categorical=categorical, sample_weight=sample_weight).labels_

    def _encode(self, X):
        check_fitted(self, "labels_")
        cols, names = _columns(X)
        if len(cols) != self.n_features_in_:
            raise ValueError(f"X has {len(cols)} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input")
        n = len(cols[0])
        if self._numeric_columns:
            numeric = np.ascontiguousarray(np.column_stack([_numeric(cols[j], names[j]) for j in self._numeric_columns]))
        else:
            numeric = np.zeros((n, 1))
        for j in self._categorical_columns:
            values = np.asarray(cols[j], dtype=object) if hasattr(cols[j], "categories") else cols[j]
            if _missing(values).any():
                raise ValueError(f"column '{names[j]}': missing values (None or NaN) in a categorical column")
            if values.dtype.kind == "f" and np.isinf(values).any():
                raise ValueError(f"column '{names[j]}': contains infinity")
        codes = np.ascontiguousarray(
            np.column_stack([_encode_apply(cols[j], lv) for j, lv in zip(self._categorical_columns, self._levels)]),
            dtype=np.int32)
        return numeric, codes

    def predict(self, X, categorical=None):
        """Nearest prototype of each row (categories unseen at fit mismatch every mode)."""
        numeric, codes = self._encode(X)
        return _core.kprototypes_predict(self._centroids, self._modes, self.gamma_, self._n_categories, numeric, codes)

    def fit_transform(self, X, y=None, categorical=None):
        return self.fit(X, categorical=categorical).transform(X)

    def transform(self, X, categorical=None):
        """Dissimilarity of each row to each prototype, (n, n_clusters)."""
        numeric, codes = self._encode(X)
        return _core.kprototypes_dissimilarities(self._centroids, self._modes, self.gamma_, self._n_categories,
                                                 numeric, codes)

    @property
    def cluster_centers_(self):
        """The prototypes (kmodes: cluster_centroids_)."""
        if not hasattr(self, "cluster_centroids_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet")
        return self.cluster_centroids_

    @property
    def inertia_(self):
        """The cost (kmodes: cost_), under scikit-learn's name."""
        if not hasattr(self, "cost_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet")
        return self.cost_


class KModes(KPrototypes):
    """k-modes for categorical data, kmodes 0.12's KModes (matching dissimilarity,
    Huang or Cao init, online updates). Every column of X is categorical; it runs as
    k-prototypes with no numeric part and gamma 1, so the cost is the number of
    mismatches. ``cluster_centroids_`` holds the modes (decoded)."""

    _kmodes = True

    def __init__(self, n_clusters=8, *, max_iter=100, cat_dissim=None, init="Cao", n_init=10, verbose=0,
                 random_state=None, n_jobs=1):
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.cat_dissim = cat_dissim
        self.init = init
        self.n_init = n_init
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    num_dissim = None
    gamma = None
    algorithm = "online"


# ---------------------------------------------------------------------------
# The latent-class model
# ---------------------------------------------------------------------------


def _encode_with_missing(values, name):
    """Codes of a categorical column (index among the sorted distinct present values),
    -1 for missing cells."""
    values = np.asarray(values, dtype=object)
    missing = _missing(values)
    present = values[~missing]
    try:
        levels = np.unique(present)
    except TypeError:
        levels = np.unique(present.astype(str))
        values = np.where(missing, None, values.astype(str))
    return levels, _encode_apply(values, levels)


def _numeric_with_missing(values, name):
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"column '{name}': not numeric; list it in categorical=") from None
    if np.isinf(v).any():
        raise ValueError(f"column '{name}': contains infinity (row {int(np.argwhere(np.isinf(v))[0][0])})")
    return v


class LatentClassModel(Estimator):
    """Latent class analysis of mixed data: a finite mixture of diagonal Gaussians
    (numeric columns) and multinomials (categorical columns) fitted by EM, missing
    cells (NaN, None) left out of the likelihood. The model of ``segmenta run
    --method lca``. ``fit(X, categorical=[...])`` as KPrototypes (a DataFrame's
    non-numeric dtypes are categorical when none are listed). Fitted: ``weights_``,
    ``means_``, ``variances_``, ``category_probabilities_`` (per categorical column,
    (k, levels)), ``categories_``, ``labels_``, ``bic_``, ``aic_``, ``icl_``,
    ``entropy_r2_``, ``log_likelihood_``, ``n_iter_``, ``converged_``;
    ``predict_proba``, ``predict``. Names follow scikit-learn's GaussianMixture
    where it has them (``weights_``, ``means_``, ``predict_proba``, ``n_iter_``,
    ``converged_``; ``bic``/``aic`` are attributes of the fit here). Columns are used
    as given: transform numeric columns first (e.g. PowerTransformer)."""

    def __init__(self, n_components=2, *, n_init=10, max_iter=1000, short_iter=20, tol=1e-6, variance_floor=1e-6,
                 smoothing=0.01, random_state=None):
        self.n_components = n_components
        self.n_init = n_init
        self.max_iter = max_iter
        self.short_iter = short_iter
        self.tol = tol
        self.variance_floor = variance_floor
        self.smoothing = smoothing
        self.random_state = random_state

    def _split(self, X, categorical):
        cols, names = _columns(X)
        p = len(cols)
        if categorical is None:
            categorical = ([j for j, t in enumerate(X.dtypes) if not is_numeric_dtype(t)] if hasattr(X, "dtypes")
                           else [])
        cat = []
        for c in categorical:
            if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)) or not -p <= c < p:
                raise ValueError(f"categorical: {c!r} is not a column index of X (it has {p} columns)")
            cat.append(int(c) % p)
        num = [j for j in range(p) if j not in set(cat)]
        return cols, names, num, sorted(set(cat))

    def _arrays(self, cols, names, n, levels=None):
        numeric = (np.ascontiguousarray(np.column_stack([_numeric_with_missing(cols[j], names[j]) for j in self._num]))
                   if self._num else np.zeros((n, 0)))
        if levels is None:
            enc = [_encode_with_missing(cols[j], names[j]) for j in self._cat]
            levels = [lv for lv, _ in enc]
            codes = [cd for _, cd in enc]
        else:
            codes = [_encode_apply(np.asarray(cols[j], dtype=object), lv) for j, lv in zip(self._cat, levels)]
        codes = np.ascontiguousarray(np.column_stack(codes), dtype=np.int32) if codes else np.zeros((n, 0), np.int32)
        return numeric, codes, levels

    def fit(self, X, y=None, categorical=None):
        cols, names, self._num, self._cat = self._split(X, categorical)
        n = len(cols[0]) if cols else 0
        if n == 0:
            raise ValueError("X: has no rows")
        k = check_int(self.n_components, "n_components", 1)
        if k > n:
            raise ValueError(f"n_samples={n} should be >= n_components={k}.")
        numeric, codes, levels = self._arrays(cols, names, n)
        n_categories = np.array([max(len(lv), 1) for lv in levels], dtype=np.int32)
        r = _core.lca_fit(numeric, codes, n_categories, k, check_int(self.n_init, "n_init", 1),
                          check_int(self.max_iter, "max_iter", 1), check_int(self.short_iter, "short_iter", 0),
                          check_float(self.tol, "tol", 0.0), check_float(self.variance_floor, "variance_floor", 0.0),
                          check_float(self.smoothing, "smoothing", 0.0), seed_of(self.random_state))
        self.categories_ = levels
        self._n_categories = n_categories
        self.weights_ = r["weights"]
        self.means_ = r["means"]
        self.variances_ = r["variances"]
        self.category_probabilities_ = list(r["probabilities"])
        self._variance_floors = r["variance_floors"]
        self._smoothing = float(r["smoothing"])
        self.labels_ = r["labels"].astype(np.int32)
        self.posterior_ = r["posterior"]
        for key in ("log_likelihood", "objective", "bic", "aic", "icl", "entropy_r2"):
            setattr(self, key + "_", float(r[key]))
        self.n_parameters_ = int(r["n_parameters"])
        self.n_iter_ = int(r["n_iter"])
        self.converged_ = bool(r["converged"])
        self.n_features_in_ = len(cols)
        return self

    def fit_predict(self, X, y=None, categorical=None):
        return self.fit(X, categorical=categorical).labels_

    def predict_proba(self, X):
        check_fitted(self, "weights_")
        cols, names = _columns(X)
        if len(cols) != self.n_features_in_:
            raise ValueError(f"X has {len(cols)} features, but LatentClassModel is expecting "
                             f"{self.n_features_in_} features as input")
        numeric, codes, _ = self._arrays(cols, names, len(cols[0]), self.categories_)
        return _core.lca_predict_proba(self.weights_, self.means_, self.variances_, self.category_probabilities_,
                                       self._variance_floors, self._smoothing, numeric, codes)

    def predict(self, X):
        return np.argmax(self.predict_proba(X), axis=1).astype(np.int32)
