"""Input handling across the package: NaN, dtypes, empty input, layouts, pandas
types; errors are Python exceptions naming the parameter or column."""

import numpy as np
import pandas as pd
import pytest

import segmenta
from segmenta import _core
from segmenta._base import as_matrix
from conftest import blobs


def test_contiguous_float_input_is_read_in_place():
    X = np.ascontiguousarray(np.random.default_rng(0).normal(size=(20, 3)))
    assert as_matrix(X) is X
    f = X.astype(np.float32)
    assert as_matrix(f, allow_float32=True) is f
    # other layouts are made contiguous once, with the same values
    F = np.asfortranarray(X)
    out = as_matrix(F)
    assert out.flags["C_CONTIGUOUS"] and np.array_equal(out, X)
    frame = pd.DataFrame(X, columns=list("abc"))
    np.testing.assert_array_equal(as_matrix(frame), X)


@pytest.mark.parametrize("make", [
    lambda: segmenta.KMeans(n_clusters=2),
    lambda: segmenta.ECOD(),
    lambda: segmenta.PCA(n_components=2),
    lambda: segmenta.PowerTransformer(),
])
def test_estimators_refuse_nan_strings_and_empty_input(make):
    X, _ = blobs(n=40)
    bad = X.copy()
    bad[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinity \(row 5, column 2\)"):
        make().fit(bad)
    with pytest.raises(ValueError, match="must be numeric"):
        make().fit(np.array([["1", "x"], ["2", "y"], ["3", "z"]], dtype=object))
    with pytest.raises(ValueError, match="column 's' is not numeric"):
        make().fit(pd.DataFrame({"a": np.arange(10.0), "s": list("abcdefghij")}))
    with pytest.raises(ValueError, match="sample"):
        make().fit(np.empty((0, 3)))
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse
        make().fit(scipy.sparse.csr_matrix(X))
    # lists, ints, read-only and strided arrays are accepted
    ro = X.copy()
    ro.setflags(write=False)
    a = make().fit(ro)
    b = make().fit(X.tolist())
    wide = np.zeros((40, 6))
    wide[:, ::2] = X
    c = make().fit(wide[:, ::2])
    for est in (a, b, c):
        assert est.n_features_in_ == 3


def test_pandas_categoricals_and_strings_in_segment(bank):
    df = bank[["age", "job", "marital", "balance", "housing"]].head(800).copy()
    base = segmenta.segment(df, k=3, maps=False, explain=False).labels
    other = df.copy()
    other["job"] = other["job"].astype("category")
    other["marital"] = other["marital"].astype("string")
    other["housing"] = other["housing"] == "yes"  # booleans are categorical
    other["age"] = other["age"].astype("Int64")
    got = segmenta.segment(other, k=3, maps=False, explain=False).labels
    np.testing.assert_array_equal(got.to_numpy(dtype=float, na_value=-1), base.to_numpy(dtype=float, na_value=-1))


def test_engine_errors_are_exceptions_not_crashes():
    with pytest.raises(ValueError):
        _core.kmeans_fit(np.zeros(5), 2, 1, 10, 1e-4, 0, "k-means++")
    with pytest.raises(ValueError):
        _core.kprototypes_fit(np.zeros((5, 1)), np.zeros((4, 1), dtype=np.int32), 2, 1, 10, "huang", None, 0, False)
    with pytest.raises(ValueError):
        _core.ecod_score(np.zeros(3), np.ones(3, dtype=np.int64), np.array([3]), 3, np.zeros(1, dtype=np.int32), 0.0,
                         0.1, np.zeros((1, 1)), False)  # values not strictly ascending
    with pytest.raises(ValueError, match="contamination"):
        segmenta.ECOD(contamination=0).fit(np.zeros((5, 2)))


def test_parameters_round_trip():
    km = segmenta.KMeans(n_clusters=3, random_state=4)
    assert km.get_params()["n_clusters"] == 3
    km.set_params(n_clusters=5)
    assert km.n_clusters == 5
    with pytest.raises(ValueError):
        km.set_params(clusters=2)
    from sklearn.base import clone
    c = clone(km)
    assert c.get_params() == km.get_params() and c is not km
    import pickle
    X, _ = blobs(n=60)
    fitted = segmenta.KPrototypes(n_clusters=2, random_state=0).fit(
        pd.DataFrame({"x": X[:, 0], "c": np.where(X[:, 1] > 0, "p", "n")}))
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.labels_, fitted.labels_)


def test_thread_and_seed_values_are_not_reinterpreted(bank):
    # -1 is refused, not read as "all cores" (scikit-learn's n_jobs=-1) or as a huge seed.
    before = segmenta.num_threads()
    with pytest.raises(ValueError, match=r"^threads: must be >= 0 \(0 = all cores\), got -1$"):
        segmenta.set_num_threads(-1)
    assert segmenta.num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        segmenta.segment(bank.head(200), threads=-1, maps=False, explain=False)
    with pytest.raises(ValueError, match="seed"):
        segmenta.segment(bank.head(200), seed=-1, maps=False, explain=False)
    with pytest.raises(ValueError, match="random_state"):
        segmenta.KMeans(n_clusters=2, random_state=-1).fit(bank[["age", "balance"]].to_numpy(dtype=float))
