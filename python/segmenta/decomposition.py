"""Maps: PCA (scikit-learn's and prince's names), MCA and FAMD (prince's), TSNE
(scikit-learn's)."""

import numpy as np

from . import _core
from ._base import Estimator, is_numeric_dtype, as_matrix, check_fitted, check_float, check_int, check_n_features, seed_of


def _frame(values, index=None, columns=None):
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return values
    return pd.DataFrame(values, index=index, columns=columns)


def _feature_names(X):
    if hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return None


class PCA(Estimator):
    """Principal component analysis by an exact eigendecomposition.

    scikit-learn's parameters and attributes (``components_``, ``explained_variance_``
    (ddof 1), ``explained_variance_ratio_``, ``singular_values_``, ``mean_``,
    ``transform``) and prince's (``eigenvalues_`` (ddof 0),
    ``percentage_of_variance_``, ``cumulative_percentage_of_variance_``,
    ``row_coordinates(X)``, ``column_correlations``). ``rescale_with_mean`` /
    ``rescale_with_std`` are prince's switches; the defaults (True, False) are
    scikit-learn's behaviour, prince's defaults are (True, True). Exact: no
    randomized SVD, so ``svd_solver``, ``n_iter`` and ``random_state`` are accepted
    and ignored. Signs: in each component the row coordinate of largest magnitude is
    positive. ``whiten`` is not supported.
    """

    def __init__(self, n_components=2, *, rescale_with_mean=True, rescale_with_std=False, copy=True,
                 svd_solver="auto", n_iter=None, random_state=None):
        self.n_components = n_components
        self.rescale_with_mean = rescale_with_mean
        self.rescale_with_std = rescale_with_std
        self.copy = copy
        self.svd_solver = svd_solver
        self.n_iter = n_iter
        self.random_state = random_state

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def _fit(self, X):
        names = _feature_names(X)
        X = as_matrix(X, min_rows=2)
        k = self.n_components
        if k is None:
            k = min(X.shape)
        k = check_int(k, "n_components", 1)
        if k > min(X.shape):
            raise ValueError(f"n_components={k} must be between 1 and min(n_samples, n_features)={min(X.shape)}")
        r = _core.pca_fit(X, k, bool(self.rescale_with_mean), bool(self.rescale_with_std))
        self.components_ = r["components"]
        self.mean_ = r["mean"]
        self.scale_ = r["scale"]
        self.singular_values_ = r["singular_values"]
        self.explained_variance_ = r["explained_variance"]
        self.explained_variance_ratio_ = r["explained_variance_ratio"]
        self.eigenvalues_ = r["eigenvalues"]
        self.percentage_of_variance_ = r["percentage_of_variance"]
        self.cumulative_percentage_of_variance_ = r["cumulative_percentage_of_variance"]
        self.total_inertia_ = float(r["total_inertia"])
        self._column_correlations = r["column_correlations"]
        self.n_components_ = k
        self.n_features_in_ = X.shape[1]
        self.n_samples_ = X.shape[0]
        self._names = names
        return r["row_coordinates"]

    def transform(self, X):
        check_fitted(self, "components_")
        X = as_matrix(X)
        check_n_features(self, X)
        return ((X - self.mean_) / self.scale_) @ self.components_.T

    def fit_transform(self, X, y=None):
        return self._fit(X)

    def inverse_transform(self, X):
        check_fitted(self, "components_")
        return np.asarray(X, dtype=np.float64) @ self.components_ * self.scale_ + self.mean_

    def row_coordinates(self, X):
        """prince: the coordinates of the rows of X, a DataFrame (index of X kept)."""
        return _frame(self.transform(X), index=getattr(X, "index", None))

    @property
    def column_correlations(self):
        """prince: Pearson correlation of each column with each component, (p, k)."""
        check_fitted(self, "components_")
        return _frame(self._column_correlations, index=self._names)


def _categorical_codes(df, name="X"):
    """Per column, the sorted distinct values and each row's code (prince's one-hot
    columns are the same categories)."""
    if hasattr(df, "iloc"):
        cols = [df.iloc[:, j].to_numpy() for j in range(df.shape[1])]
        names = [str(c) for c in df.columns]
    else:
        arr = np.asarray(df)
        if arr.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D table")
        cols = [arr[:, j] for j in range(arr.shape[1])]
        names = [str(j) for j in range(arr.shape[1])]
    levels, codes = [], []
    for values, col in zip(cols, names):
        values = np.asarray(values, dtype=object)
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
            raise ValueError(f"column '{col}': missing values; fill them first")
        lv, cd = np.unique(values.astype(str), return_inverse=True)
        levels.append(lv)
        codes.append(cd)
    if not codes or len(codes[0]) == 0:
        raise ValueError(f"{name}: no rows or no columns")
    return names, levels, np.ascontiguousarray(np.column_stack(codes), dtype=np.int32)


class MCA(Estimator):
    """Multiple correspondence analysis, prince 0.12's MCA by an exact
    decomposition (prince: randomized SVD; see docs/PYTHON.md). ``fit(df)`` on
    categorical columns; ``eigenvalues_``, ``percentage_of_variance_``,
    ``cumulative_percentage_of_variance_``, ``total_inertia_``,
    ``row_coordinates(df)``, ``column_coordinates(df)`` (indicator rows named
    ``<column>_<value>``). ``row_coordinates`` of new rows: categories unseen at fit
    contribute nothing."""

    def __init__(self, n_components=2, n_iter=10, copy=True, check_input=True, random_state=None, engine="sklearn"):
        self.n_components = n_components
        self.n_iter = n_iter
        self.copy = copy
        self.check_input = check_input
        self.random_state = random_state
        self.engine = engine

    def fit(self, X, y=None):
        k = check_int(self.n_components, "n_components", 1)
        names, levels, codes = _categorical_codes(X)
        r = _core.mca_fit(codes, k)
        self._names, self._levels = names, levels
        self.eigenvalues_ = r["eigenvalues"]
        self.percentage_of_variance_ = r["percentage_of_variance"]
        self.cumulative_percentage_of_variance_ = r["cumulative_percentage_of_variance"]
        self.total_inertia_ = float(r["total_inertia"])
        self._column_coordinates = r["column_coordinates"]
        self._indicators = [f"{names[v]}_{levels[v][c]}" for v, c in zip(r["indicator_variable"], r["indicator_code"])]
        self._parts = {key: r[key] for key in ("indicator_variable", "indicator_code", "column_masses",
                                                "column_standard_coordinates", "eigenvalues")}
        return self

    def _codes(self, X):
        check_fitted(self, "eigenvalues_")
        names, levels, codes = _categorical_codes(X)
        if len(names) != len(self._names):
            raise ValueError(f"X has {len(names)} columns, but MCA was fitted on {len(self._names)}")
        out = np.empty_like(codes)
        for j in range(codes.shape[1]):
            lookup = {v: i for i, v in enumerate(self._levels[j].tolist())}
            out[:, j] = [lookup.get(v, -1) for v in levels[j][codes[:, j]].tolist()]
        return out

    def row_coordinates(self, X):
        codes = self._codes(X)
        p = self._parts
        coords = _core.mca_transform(p["indicator_variable"], p["indicator_code"], p["column_masses"],
                                     p["column_standard_coordinates"], p["eigenvalues"], len(self._names),
                                     np.ascontiguousarray(codes, dtype=np.int32))
        return _frame(coords, index=getattr(X, "index", None))

    def transform(self, X):
        return np.asarray(self.row_coordinates(X))

    def column_coordinates(self, X=None):
        check_fitted(self, "eigenvalues_")
        return _frame(self._column_coordinates, index=self._indicators)


class FAMD(Estimator):
    """Factor analysis of mixed data (prince's FAMD names; FactoMineR's scaling of
    the indicators, indicator / sqrt(proportion)). ``fit(df)``: numeric dtypes are
    the numeric columns, the others categorical. ``eigenvalues_``,
    ``percentage_of_variance_``, ``row_coordinates(df)`` (the fitted frame or new
    rows), ``column_correlations`` (numeric columns)."""

    def __init__(self, n_components=2, n_iter=3, copy=True, check_input=True, random_state=None, engine="sklearn"):
        self.n_components = n_components
        self.n_iter = n_iter
        self.copy = copy
        self.check_input = check_input
        self.random_state = random_state
        self.engine = engine

    def fit(self, X, y=None):
        if not hasattr(X, "dtypes"):
            raise ValueError("X: FAMD needs a DataFrame (numeric and categorical columns by dtype)")
        k = check_int(self.n_components, "n_components", 1)
        num = [c for c, t in zip(X.columns, X.dtypes) if is_numeric_dtype(t)]
        cat = [c for c in X.columns if c not in set(num)]
        if not num or not cat:
            raise ValueError("X: FAMD needs numeric and categorical columns (use PCA or MCA otherwise)")
        numeric = as_matrix(X[num].astype(np.float64).to_numpy(), "X")
        _, levels, codes = _categorical_codes(X[cat])
        r = _core.famd_fit(numeric, codes, k)
        self._num, self._cat, self._levels = list(num), list(cat), levels
        self._parts = {key: r[key] for key in ("indicator_variable", "indicator_code", "indicator_proportions",
                                                "indicator_weights", "numeric_mean", "numeric_scale", "loadings")}
        self._parts["n_categorical"] = len(cat)
        self.eigenvalues_ = r["eigenvalues"]
        self.percentage_of_variance_ = r["percentage_of_variance"]
        self.cumulative_percentage_of_variance_ = r["cumulative_percentage_of_variance"]
        self.total_inertia_ = float(r["total_inertia"])
        self._numeric_names = [str(c) for c in num]
        self._correlations = r["numeric_correlations"]
        return self

    def row_coordinates(self, X):
        """Coordinates of the rows of X (the fitted frame, or new rows with the same
        columns; categories unseen at fit contribute nothing)."""
        check_fitted(self, "eigenvalues_")
        if not hasattr(X, "columns"):
            raise ValueError("X: FAMD needs a DataFrame with the fitted columns")
        missing = [c for c in self._num + self._cat if c not in X.columns]
        if missing:
            raise ValueError(f"column '{missing[0]}': FAMD was fitted with it and X has no such column")
        numeric = as_matrix(X[self._num].astype(np.float64).to_numpy(), "X")
        _, levels, codes = _categorical_codes(X[self._cat])
        out = np.empty_like(codes)
        for j in range(codes.shape[1]):
            lookup = {v: i for i, v in enumerate(self._levels[j].tolist())}
            out[:, j] = [lookup.get(v, -1) for v in levels[j][codes[:, j]].tolist()]
        coords = _core.famd_transform(self._parts, numeric, np.ascontiguousarray(out, dtype=np.int32))
        return _frame(coords, index=X.index)

    def transform(self, X):
        return np.asarray(self.row_coordinates(X))

    @property
    def column_correlations(self):
        check_fitted(self, "eigenvalues_")
        return _frame(self._correlations, index=self._numeric_names)


class TSNE(Estimator):
    """t-SNE with scikit-learn 1.2's parameters (Barnes-Hut by default, exact for
    small data, and an FFT-interpolation method). ``embedding_``,
    ``kl_divergence_``, ``n_iter_``, ``learning_rate_``. Coordinates differ from
    scikit-learn's (other random streams and arithmetic); the quality (KL,
    trustworthiness) is what matches."""

    def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0, learning_rate="auto",
                 n_iter=1000, init="pca", method="barnes_hut", angle=0.5, random_state=None, verbose=0):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.init = init
        self.method = method
        self.angle = angle
        self.random_state = random_state
        self.verbose = verbose

    def fit_transform(self, X, y=None):
        X = as_matrix(X, min_rows=2)
        dims = check_int(self.n_components, "n_components", 1)
        if dims not in (2, 3):
            raise ValueError(f"n_components: must be 2 or 3, got {dims}")
        perplexity = check_float(self.perplexity, "perplexity", 0.0, low_open=True)
        if perplexity >= X.shape[0]:
            raise ValueError(f"perplexity: must be less than n_samples ({X.shape[0]}), got {perplexity}")
        lr = None if isinstance(self.learning_rate, str) and self.learning_rate == "auto" else check_float(
            self.learning_rate, "learning_rate", 0.0, low_open=True)
        if self.init not in ("pca", "random"):
            raise ValueError(f"init: must be 'pca' or 'random', got {self.init!r}")
        if self.method not in ("barnes_hut", "exact", "fft"):
            raise ValueError(f"method: must be 'barnes_hut', 'exact' or 'fft', got {self.method!r}")
        r = _core.tsne_fit(X, dims, perplexity, check_float(self.early_exaggeration, "early_exaggeration", 1.0),
                           lr, check_int(self.n_iter, "n_iter", 250), self.init, self.method,
                           check_float(self.angle, "angle", 0.0, 1.0), seed_of(self.random_state))
        self.embedding_ = r["embedding"]
        self.kl_divergence_ = float(r["kl_divergence"])
        self.n_iter_ = int(r["n_iter"])
        self.learning_rate_ = float(r["learning_rate"])
        self.n_features_in_ = X.shape[1]
        return self.embedding_

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self


def trustworthiness(X, X_embedded, *, n_neighbors=5):
    """scikit-learn's trustworthiness (Euclidean)."""
    X = as_matrix(X)
    E = as_matrix(X_embedded, "X_embedded")
    if E.shape[0] != X.shape[0]:
        raise ValueError("X_embedded: must have as many rows as X")
    return _core.trustworthiness(X, E, check_int(n_neighbors, "n_neighbors", 1))
