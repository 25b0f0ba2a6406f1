"""Cluster validity indices (scikit-learn 1.2's definitions) and partition agreement."""

import numpy as np

from . import _core
from ._base import as_labels, as_matrix, check_int, seed_of


def _check(X, labels, metric="euclidean"):
    if metric != "euclidean":
        raise ValueError(f"metric: only 'euclidean' is supported, got {metric!r}")
    X = as_matrix(X, allow_float32=True)
    lab = as_labels(labels, X.shape[0])
    k = len(np.unique(lab))
    if not 2 <= k <= X.shape[0] - 1:
        raise ValueError(f"labels: number of labels is {k}; valid values are 2 to n_samples - 1 (inclusive)")
    return X, lab


def silhouette_samples(X, labels, *, metric="euclidean"):
    """Exact silhouette of every row (never an n x n matrix)."""
    X, lab = _check(X, labels, metric)
    return _core.silhouette_samples(X, lab)


def silhouette_score(X, labels, *, metric="euclidean", sample_size=None, random_state=None):
    """Mean silhouette; with sample_size, of a uniform sample of that many rows
    (segmenta's random stream: another sample than scikit-learn's)."""
    X, lab = _check(X, labels, metric)
    if sample_size is None:
        return _core.silhouette_score(X, lab)
    return _core.silhouette_score_sampled(X, lab, check_int(sample_size, "sample_size", 1), seed_of(random_state))


def silhouette_samples_many(X, labelings):
    """Silhouette values of several labelings of the same rows (a k sweep), computed
    together: (n_labelings, n_samples)."""
    X = as_matrix(X, allow_float32=True)
    ls = [as_labels(l, X.shape[0], f"labelings[{i}]") for i, l in enumerate(labelings)]
    for i, l in enumerate(ls):
        k = len(np.unique(l))
        if not 2 <= k <= X.shape[0] - 1:
            raise ValueError(f"labelings[{i}]: number of labels is {k}; valid values are 2 to n_samples - 1")
    if not ls:
        return np.empty((0, X.shape[0]))
    return _core.silhouette_samples_many(X, np.ascontiguousarray(np.vstack(ls), dtype=np.int32))


def calinski_harabasz_score(X, labels):
    X, lab = _check(X, labels)
    return _core.calinski_harabasz_score(X, lab)


def davies_bouldin_score(X, labels):
    X, lab = _check(X, labels)
    return _core.davies_bouldin_score(X, lab)


def distortion_score(X, labels):
    """yellowbrick's distortion: squared distances of the rows to their cluster means."""
    X = as_matrix(X, allow_float32=True)
    return _core.distortion_score(X, as_labels(labels, X.shape[0]))


def adjusted_rand_score(labels_true, labels_pred):
    a = np.asarray(labels_true)
    return _core.adjusted_rand_score(as_labels(a, a.shape[0], "labels_true"),
                                     as_labels(labels_pred, a.shape[0], "labels_pred"))


def adjusted_mutual_info_score(labels_true, labels_pred):
    a = np.asarray(labels_true)
    return _core.adjusted_mutual_info_score(as_labels(a, a.shape[0], "labels_true"),
                                            as_labels(labels_pred, a.shape[0], "labels_pred"))
