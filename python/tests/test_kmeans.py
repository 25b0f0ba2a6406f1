"""KMeans against scikit-learn (same process) and the golden blog runs."""

import numpy as np
import pytest
from sklearn.cluster import KMeans as SkKMeans

import segmenta
from conftest import blobs, read_json


def test_fixed_init_reproduces_the_golden_lloyd_run(inliers, golden):
    ref = read_json(golden / "kmeans" / "fixed_init.json")
    labels = np.loadtxt(golden / "kmeans" / "labels.csv", delimiter=",", skiprows=1, usecols=1, dtype=np.int64)
    X = inliers.to_numpy()
    km = segmenta.KMeans(n_clusters=5, init=np.array(ref["init_centers"]), n_init=1, max_iter=300, tol=1e-4).fit(X)
    np.testing.assert_array_equal(km.labels_, labels)
    assert km.n_iter_ == ref["n_iter"]
    np.testing.assert_allclose(km.cluster_centers_, np.array(ref["final_centers"]), atol=1e-10)
    assert km.inertia_ == pytest.approx(ref["inertia"], rel=1e-10)


def test_blog_run_reaches_the_reference_inertia(inliers, golden):
    ref = read_json(golden / "kmeans" / "blog_run.json")
    km = segmenta.KMeans(n_clusters=5, init="k-means++", n_init=10, max_iter=100, random_state=42).fit(inliers)
    assert km.inertia_ == pytest.approx(ref["inertia"], rel=1e-5)
    # the same optimum up to a few boundary rows (the k-means++ draws are segmenta's own)
    np.testing.assert_allclose(sorted(np.bincount(km.labels_)), sorted(ref["cluster_sizes"]), atol=10)


def test_against_scikit_learn_in_process():
    X, _ = blobs(n=500, centers=4, p=5, seed=3)
    init = X[[0, 100, 200, 300]]
    ours = segmenta.KMeans(n_clusters=4, init=init, n_init=1).fit(X)
    ref = SkKMeans(n_clusters=4, init=init, n_init=1, algorithm="lloyd").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-12)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-12)
    assert ours.n_iter_ == ref.n_iter_
    new = X[::7] + 0.1
    np.testing.assert_array_equal(ours.predict(new), ref.predict(new))
    np.testing.assert_allclose(ours.transform(new), ref.transform(new), atol=1e-12)
    assert ours.score(new) == pytest.approx(ref.score(new), rel=1e-12)


def test_same_seed_same_result_at_any_thread_count():
    X, _ = blobs(n=2000, centers=6, p=4, seed=5)
    before = segmenta.num_threads()
    try:
        segmenta.set_num_threads(1)
        one = segmenta.KMeans(n_clusters=6, random_state=7).fit(X)
        segmenta.set_num_threads(2)
        two = segmenta.KMeans(n_clusters=6, random_state=7).fit(X)
    finally:
        segmenta.set_num_threads(0)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.inertia_ == two.inertia_
    assert before >= 1


def test_layouts_and_dtypes_give_the_same_labels():
    X, _ = blobs(n=400, centers=3, p=4, seed=1)
    base = segmenta.KMeans(n_clusters=3, random_state=0).fit(X)
    fortran = segmenta.KMeans(n_clusters=3, random_state=0).fit(np.asfortranarray(X))
    wide = np.zeros((400, 8))
    wide[:, ::2] = X
    view = wide[:, ::2]
    assert not view.flags["C_CONTIGUOUS"]
    sliced = segmenta.KMeans(n_clusters=3, random_state=0).fit(view)
    for other in (fortran, sliced):
        np.testing.assert_array_equal(other.labels_, base.labels_)
    f32 = segmenta.KMeans(n_clusters=3, random_state=0).fit(X.astype(np.float32))
    assert f32.cluster_centers_.dtype == np.float32
    assert segmenta.adjusted_rand_score(f32.labels_, base.labels_) == 1.0
    ints = segmenta.KMeans(n_clusters=3, random_state=0).fit(np.round(X * 10).astype(np.int64))
    assert ints.cluster_centers_.dtype == np.float64


def test_bad_input_is_a_value_error_naming_it():
    X, _ = blobs(n=50)
    with pytest.raises(ValueError, match="NaN"):
        bad = X.copy()
        bad[3, 1] = np.nan
        segmenta.KMeans(n_clusters=2).fit(bad)
    with pytest.raises(ValueError, match="2-D"):
        segmenta.KMeans(n_clusters=2).fit(X[:, 0])
    with pytest.raises(ValueError, match="n_clusters"):
        segmenta.KMeans(n_clusters=0).fit(X)
    with pytest.raises(ValueError, match="n_samples=50 should be >= n_clusters=60"):
        segmenta.KMeans(n_clusters=60).fit(X)
    with pytest.raises(ValueError, match="tol"):
        segmenta.KMeans(n_clusters=2, tol=-1).fit(X)
    with pytest.raises(ValueError, match="init"):
        segmenta.KMeans(n_clusters=2, init="kmeans").fit(X)
    with pytest.raises(ValueError, match="must be numeric"):
        segmenta.KMeans(n_clusters=2).fit(np.array([["a", "b"], ["c", "d"]], dtype=object))
    with pytest.raises(ValueError, match="0 sample"):
        segmenta.KMeans(n_clusters=2).fit(np.empty((0, 3)))
    km = segmenta.KMeans(n_clusters=2).fit(X)
    with pytest.raises(ValueError, match="features"):
        km.predict(X[:, :2])
    with pytest.raises(segmenta.NotFittedError):
        segmenta.KMeans().predict(X)
