"""KPrototypes and KModes against the golden kmodes run and a direct implementation."""

import time

import numpy as np
import pandas as pd
import pytest

import segmenta
from conftest import read_json


@pytest.fixture(scope="module")
def kproto_input(golden):
    return pd.read_csv(golden / "kprototypes" / "input.csv").drop(columns="row")


def test_fixed_init_reproduces_kmodes(kproto_input, golden):
    ref = read_json(golden / "kprototypes" / "k5_fixed_init.json")
    labels = pd.read_csv(golden / "kprototypes" / "k5_fixed_init_labels.csv")["label"].to_numpy()
    init = [np.array(ref["init_numeric"]) if "init_numeric" in ref else None, None]
    rows = [0, 1000, 2000, 3000, 4000]
    X = kproto_input
    cat = [0, 1, 2, 3, 4, 5]
    # the init: numeric part and kmodes' codes (index among the sorted values) of those rows
    codes = np.column_stack([np.unique(X.iloc[:, j], return_inverse=True)[1] for j in cat])
    init = [X.iloc[rows, 6:].to_numpy(), codes[rows]]
    kp = segmenta.KPrototypes(n_clusters=5, init=init, n_init=10, max_iter=100, random_state=0)
    got = kp.fit_predict(X, categorical=cat)
    np.testing.assert_array_equal(got, labels)
    assert kp.n_iter_ == ref["n_iter"]
    assert kp.cost_ == pytest.approx(ref["cost"], rel=1e-10)
    assert kp.gamma_ == pytest.approx(ref["gamma"], rel=1e-12)
    np.testing.assert_allclose(np.array(kp.cluster_centroids_[:, :2], dtype=float),
                               np.array(ref["final_centroids_numeric"]), atol=1e-10)
    assert kp.cluster_centroids_[:, 2:].tolist() == ref["final_centroids_categorical"]
    np.testing.assert_allclose(kp.epoch_costs_, ref["epoch_costs"], rtol=1e-10)
    # predict on the training rows gives the training labels
    np.testing.assert_array_equal(kp.predict(X), labels)


def test_blog_call_is_fast_and_reaches_the_reference_cost(kproto_input, golden):
    """The done-when call: KPrototypes(n_clusters=5, init='Huang', n_init=10,
    random_state=0).fit_predict(X, categorical=[...]) on the blog's inliers, as an
    object array like the blog's, in under a second (kmodes: minutes)."""
    ref = read_json(golden / "kprototypes" / "k5_fixed_init.json")
    X = kproto_input.to_numpy()  # object array: strings and floats
    t = time.perf_counter()
    labels = segmenta.KPrototypes(n_clusters=5, init="Huang", n_init=10, random_state=0).fit_predict(
        X, categorical=[0, 1, 2, 3, 4, 5])
    seconds = time.perf_counter() - t
    print(f"KPrototypes blog call: {seconds:.3f} s")
    assert len(np.unique(labels)) == 5
    kp = segmenta.KPrototypes(n_clusters=5, init="Huang", n_init=10, random_state=0).fit(X, categorical=[0, 1, 2, 3, 4, 5])
    assert kp.cost_ <= 1.01 * ref["cost"]
    assert seconds < 5.0  # generous for a loaded 2-core CI machine; measured well under 1 s


def naive_kmodes(codes, init_modes, max_iter=100):
    """Huang's online k-modes written out directly (kmodes 0.12's loop): rows in order,
    a moved row updates both clusters' counts and modes (the receiver adopts the value
    only when its count becomes strictly larger; the loser recomputes, smallest code
    on ties)."""
    n, p = codes.shape
    k = init_modes.shape[0]
    modes = init_modes.copy()
    dist = lambda row: (modes != row).sum(axis=1)
    labels = np.array([int(np.argmin(dist(r))) for r in codes])
    m = codes.max(axis=0) + 1
    counts = np.zeros((k, p, m.max()), dtype=int)
    for i in range(n):
        for j in range(p):
            counts[labels[i], j, codes[i, j]] += 1
    for c in range(k):
        for j in range(p):
            modes[c, j] = int(np.argmax(counts[c, j]))
    cost = sum(dist(r)[l] for r, l in zip(codes, labels))
    it = 0
    for it in range(1, max_iter + 1):
        moves = 0
        for i in range(n):
            new = int(np.argmin(dist(codes[i])))
            old = labels[i]
            if new == old:
                continue
            moves += 1
            labels[i] = new
            for j in range(p):
                v = codes[i, j]
                counts[new, j, v] += 1
                if counts[new, j, v] > counts[new, j, modes[new, j]]:
                    modes[new, j] = v
                counts[old, j, v] -= 1
                if v == modes[old, j]:
                    modes[old, j] = int(np.argmax(counts[old, j]))
            assert (labels == old).any(), "an emptied cluster (not exercised here)"
        new_cost = sum(dist(r).min() for r in codes)
        labels = np.array([int(np.argmin(dist(r))) for r in codes])
        if moves == 0 or new_cost >= cost:
            cost = min(cost, new_cost) if moves else cost
            break
        cost = new_cost
    return labels, modes, it


def test_kmodes_against_a_direct_implementation(bank):
    df = bank[["job", "marital", "education", "default", "housing", "loan"]].head(400)
    codes = np.column_stack([np.unique(df.iloc[:, j], return_inverse=True)[1] for j in range(df.shape[1])])
    rows = [0, 50, 100, 150]
    want_labels, want_modes, want_iter = naive_kmodes(codes.copy(), codes[rows].copy())
    km = segmenta.KModes(n_clusters=4, init=codes[rows], n_init=1).fit(df)
    np.testing.assert_array_equal(km.labels_, want_labels)
    assert km.cost_ == sum((want_modes[l] != r).sum() for r, l in zip(codes, want_labels))
    assert km.n_iter_ == want_iter
    # huang init: a valid partition whose cost is the number of mismatches to the modes
    kh = segmenta.KModes(n_clusters=4, init="Huang", n_init=5, random_state=1).fit(df)
    modes_codes = np.column_stack([np.searchsorted(np.unique(df.iloc[:, j]), kh.cluster_centroids_[:, j])
                                   for j in range(df.shape[1])])
    assert kh.cost_ == sum((modes_codes[l] != r).sum() for r, l in zip(codes, kh.labels_))
    np.testing.assert_array_equal(kh.predict(df), kh.labels_)


def test_dataframe_input_categoricals_and_errors(bank):
    df = bank[["age", "job", "marital", "balance"]].head(500).copy()
    a = segmenta.KPrototypes(n_clusters=3, init="Cao", random_state=0).fit(df, categorical=[1, 2])
    # dtypes pick the categorical columns when none are listed; pandas categoricals too
    df2 = df.copy()
    df2["job"] = df2["job"].astype("category")
    b = segmenta.KPrototypes(n_clusters=3, init="Cao", random_state=0).fit(df2)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    # unseen categories mismatch every mode instead of failing
    new = df.head(5).copy()
    new.loc[new.index[0], "job"] = "astronaut"
    assert a.predict(new).shape == (5,)
    with pytest.raises(ValueError, match="categorical"):
        segmenta.KPrototypes(n_clusters=3).fit(df.to_numpy(), categorical=[9])
    with pytest.raises(ValueError, match="categorical"):
        segmenta.KPrototypes(n_clusters=3).fit(df[["age", "balance"]].to_numpy())
    with pytest.raises(ValueError, match="column 'age'"):
        bad = df.copy()
        bad["age"] = bad["age"].astype(float)
        bad.iloc[2, 0] = np.nan
        segmenta.KPrototypes(n_clusters=3).fit(bad, categorical=[1, 2])
    with pytest.raises(ValueError, match="column 'job'"):
        bad = df.copy()
        bad.iloc[2, 1] = None
        segmenta.KPrototypes(n_clusters=3).fit(bad, categorical=[1, 2])
    with pytest.raises(ValueError, match="init"):
        segmenta.KPrototypes(n_clusters=3, init="kmeans").fit(df, categorical=[1, 2])
    params = a.get_params()
    assert params["n_clusters"] == 3 and params["init"] == "Cao"
    assert segmenta.KPrototypes().set_params(n_clusters=4).n_clusters == 4
