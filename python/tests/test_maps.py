"""PCA against prince (golden) and scikit-learn (same process); MCA against the
exact-SVD golden MCA; FAMD against a direct computation; TSNE's quality."""

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA as SkPCA
from sklearn.manifold import trustworthiness as sk_trustworthiness

import segmenta
from conftest import blobs, read_json


def align(got, want):
    """got with each column's sign flipped to agree with want."""
    signs = np.sign(np.sum(got * want, axis=0))
    return got * signs


def test_pca_matches_prince(inliers, golden):
    ref = read_json(golden / "pca" / "prince_pca.json")
    coords = pd.read_csv(golden / "pca" / "prince_row_coordinates.csv").drop(columns="row").to_numpy()
    pca = segmenta.PCA(n_components=3, rescale_with_mean=True, rescale_with_std=True).fit(inliers)
    np.testing.assert_allclose(pca.eigenvalues_, ref["eigenvalues"], rtol=1e-10)
    np.testing.assert_allclose(pca.percentage_of_variance_, ref["percentage_of_variance"], rtol=1e-10)
    np.testing.assert_allclose(pca.cumulative_percentage_of_variance_, ref["cumulative_percentage_of_variance"],
                               rtol=1e-10)
    rc = pca.row_coordinates(inliers)
    assert rc.index.equals(inliers.index)
    np.testing.assert_allclose(align(rc.to_numpy(), coords), coords, atol=1e-9)
    cc = pca.column_correlations
    assert list(cc.index) == list(inliers.columns)
    np.testing.assert_allclose(align(cc.to_numpy(), np.array(ref["column_correlations"]["values"])),
                               np.array(ref["column_correlations"]["values"]), atol=1e-9)


def test_pca_matches_scikit_learn():
    X, _ = blobs(n=300, centers=3, p=6, seed=2)
    ours = segmenta.PCA(n_components=3).fit(X)
    ref = SkPCA(n_components=3, svd_solver="full").fit(X)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-10)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
    np.testing.assert_allclose(ours.mean_, ref.mean_, atol=1e-12)
    np.testing.assert_allclose(align(ours.components_.T, ref.components_.T).T, ref.components_, atol=1e-9)
    np.testing.assert_allclose(align(ours.transform(X), ref.transform(X)), ref.transform(X), atol=1e-9)
    np.testing.assert_allclose(ours.fit_transform(X), ours.transform(X), atol=1e-10)


def test_mca_matches_the_exact_golden_mca(golden):
    df = pd.read_csv(golden / "kprototypes" / "input.csv").iloc[:, 1:7]
    ref = read_json(golden / "mca" / "exact_svd_mca.json")
    coords = pd.read_csv(golden / "mca" / "exact_svd_row_coordinates.csv").drop(columns="row").to_numpy()
    mca = segmenta.MCA(n_components=3).fit(df)
    np.testing.assert_allclose(mca.eigenvalues_, ref["eigenvalues"], rtol=1e-9)
    assert mca.total_inertia_ == pytest.approx(25 / 6 - 1, rel=1e-12)
    rc = mca.row_coordinates(df).to_numpy()
    np.testing.assert_allclose(align(rc, coords), coords, atol=1e-8)
    cc = mca.column_coordinates(df)
    assert len(cc) == 25 and "job_admin." in cc.index
    # new rows: each row's coordinates do not depend on the others; unseen categories add nothing
    part = df.iloc[[5, 17, 900]]
    np.testing.assert_allclose(mca.row_coordinates(part).to_numpy(), rc[[5, 17, 900]], atol=1e-12)
    odd = part.copy()
    odd.iloc[0, 0] = "astronaut"
    assert np.isfinite(mca.row_coordinates(odd).to_numpy()).all()


def test_famd_numeric_part_is_the_pca_of_the_standardised_columns_when_alone_enough():
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200) * 3,
                       "c": rng.choice(["x", "y", "z"], size=200)})
    famd = segmenta.FAMD(n_components=2).fit(df)
    rc = famd.row_coordinates(df).to_numpy()
    # direct FAMD (FactoMineR scaling): standardised numbers, indicators / sqrt(p_j) centred
    num = (df[["a", "b"]] - df[["a", "b"]].mean()) / df[["a", "b"]].std(ddof=0)
    ind = pd.get_dummies(df["c"]).astype(float)
    prop = ind.mean()
    Z = np.hstack([num.to_numpy(), ((ind - prop) / np.sqrt(prop)).to_numpy()])
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    want = U[:, :2] * s[:2]
    np.testing.assert_allclose(famd.eigenvalues_, s[:2] ** 2 / len(df), rtol=1e-9)
    np.testing.assert_allclose(align(rc, want), want, atol=1e-8)
    part = df.iloc[[3, 50, 120]]
    np.testing.assert_allclose(famd.row_coordinates(part).to_numpy(), rc[[3, 50, 120]], atol=1e-12)
    with pytest.raises(ValueError, match="column 'c'"):
        famd.row_coordinates(df[["a", "b"]])


def test_tsne_quality():
    X, y = blobs(n=300, centers=4, p=5, seed=6)
    ts = segmenta.TSNE(n_components=2, perplexity=20, n_iter=500, random_state=0)
    E = ts.fit_transform(X)
    assert E.shape == (300, 2) and ts.kl_divergence_ > 0
    tw = segmenta.trustworthiness(X, E, n_neighbors=10)
    assert tw == pytest.approx(sk_trustworthiness(X, E, n_neighbors=10), abs=1e-12)
    assert tw > 0.9
    with pytest.raises(ValueError, match="perplexity"):
        segmenta.TSNE(perplexity=500).fit_transform(X)


def test_trustworthiness_of_scikit_learns_bank_embedding(inliers, golden):
    """trustworthiness against the golden value of scikit-learn's t-SNE of 5000 inliers.
    (The t-SNE itself meets scikit-learn's KL and trustworthiness there in the C++
    golden test, tests/golden/reduce_tsne_test.cpp; it takes too long for this suite.)"""
    ref = read_json(golden / "tsne" / "tsne_quality.json")
    sample = pd.read_csv(golden / "tsne" / "subsample_embedding.csv")
    X = inliers.to_numpy()[sample["inlier_index"].to_numpy()]
    assert segmenta.trustworthiness(X, sample[["y0", "y1"]].to_numpy(), n_neighbors=10) == pytest.approx(
        ref["trustworthiness_k10"], abs=1e-6)
