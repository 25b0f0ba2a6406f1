"""Shared pieces of the estimators: parameters, fitted checks and input validation."""

import inspect

import numpy as np

try:  # scikit-learn's base class when it is installed: clone, pipelines, HTML repr
    from sklearn.base import BaseEstimator as _SklearnBase
except ImportError:  # pragma: no cover - the package works without scikit-learn
    _SklearnBase = None


class NotFittedError(ValueError, AttributeError):
    """An estimator is used before fit (scikit-learn's NotFittedError semantics)."""


class _OwnBase:
    """get_params / set_params by the constructor's signature (scikit-learn's rules)."""

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD)

    def get_params(self, deep=True):
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"{key}: not a parameter of {type(self).__name__} (it has {', '.join(valid)})")
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


Estimator = _SklearnBase if _SklearnBase is not None else _OwnBase


def check_fitted(est, attribute):
    if not hasattr(est, attribute):
        raise NotFittedError(
            f"This {type(est).__name__} instance is not fitted yet; call 'fit' with appropriate arguments first."
        )


def _is_sparse(x):
    return hasattr(x, "toarray") and hasattr(x, "nnz")


def as_matrix(X, name="X", dtype=np.float64, allow_float32=False, min_rows=1):
    """X as a 2-D C-contiguous float64 array (float32 kept where allowed), read in
    place when it already has that layout. Raises ValueError naming the problem."""
    if _is_sparse(X):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array (X.toarray())")
    if hasattr(X, "dtypes") and hasattr(X, "columns"):  # a DataFrame: its numeric values
        bad = [str(c) for c, t in zip(X.columns, X.dtypes) if not (is_numeric_dtype(t) or t == bool)]
        if bad:
            raise ValueError(f"{name}: column '{bad[0]}' is not numeric ({X[bad[0]].dtype}); encode it first")
        X = X.to_numpy()
    arr = np.asarray(X)
    if arr.dtype == object or arr.dtype.kind in "USV":
        try:
            arr = arr.astype(np.float64)
        except TypeError as e:
            raise TypeError(f"{name}: {e}") from None
        except ValueError as e:
            raise ValueError(f"{name}: must be numeric ({e})") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: Complex data not supported")
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-D array, got {arr.ndim}-D. Reshape your data with X.reshape(-1, 1) for one "
            "feature or X.reshape(1, -1) for one sample"
        )
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name}: found array with {arr.shape[0]} sample(s) (shape={arr.shape}) while a minimum of {min_rows} is required.")
    if arr.shape[1] < 1:
        raise ValueError(f"{name}: found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required.")
    if allow_float32 and arr.dtype == np.float32:
        out = np.ascontiguousarray(arr)
    else:
        out = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(out).all():
        bad = np.argwhere(~np.isfinite(out))[0]
        raise ValueError(f"{name}: contains NaN or infinity (row {bad[0]}, column {bad[1]})")
    return out


def as_labels(labels, n, name="labels"):
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array")
    if lab.shape[0] != n:
        raise ValueError(f"{name}: has {lab.shape[0]} entries for {n} rows")
    if lab.dtype.kind not in "iu":
        # any labels (strings too): encoded as their sorted distinct values
        _, lab = np.unique(lab, return_inverse=True)
    if lab.size and (lab.min() < np.iinfo(np.int32).min or lab.max() > np.iinfo(np.int32).max):
        _, lab = np.unique(lab, return_inverse=True)
    return np.ascontiguousarray(lab, dtype=np.int32)


def check_int(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def check_float(value, name, low=None, high=None, low_open=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: must be a number, got {value!r}")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {value}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and v > high:
        raise ValueError(f"{name}: must be <= {high}, got {value}")
    return v


def seed_of(random_state):
    """random_state as the engine's 64-bit seed: None -> 0 (segmenta's runs are
    always seeded), an int as is. numpy RandomState objects are not accepted: the
    engine draws from its own streams."""
    if random_state is None:
        return 0
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, (int, np.integer)):
        raise ValueError(f"random_state: must be None or a non-negative integer, got {random_state!r}")
    if random_state < 0:
        raise ValueError(f"random_state: must be >= 0, got {random_state}")
    return int(random_state)


def check_n_features(est, X):
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is expecting {est.n_features_in_} features as input"
        )


def is_numeric_dtype(dtype):
    """A numeric (not boolean) column dtype, numpy's or pandas' (categoricals,
    nullable integers, strings included)."""
    try:
        from pandas.api.types import is_bool_dtype, is_complex_dtype, is_numeric_dtype as pd_numeric
        return pd_numeric(dtype) and not is_bool_dtype(dtype) and not is_complex_dtype(dtype)
    except ImportError:  # pragma: no cover
        return np.issubdtype(dtype, np.number) and not np.issubdtype(dtype, np.complexfloating)
