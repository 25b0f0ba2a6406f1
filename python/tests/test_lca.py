"""LatentClassModel against the numpy reference EM (tools/lca_reference.py) from the
same initial responsibilities."""

import importlib.util

import numpy as np
import pandas as pd
import pytest

import segmenta
from segmenta import _core
from conftest import REPO


@pytest.fixture(scope="module")
def reference():
    spec = importlib.util.spec_from_file_location("lca_reference", REPO / "tools" / "lca_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_em_matches_the_numpy_reference(bank, reference):
    df = bank[["age", "balance", "job", "marital", "housing"]].head(1500).copy()
    df["balance"] = np.sign(df["balance"]) * np.log1p(np.abs(df["balance"]))
    df.loc[::11, "age"] = np.nan  # missing cells are left out of the likelihood
    df.loc[::13, "job"] = None
    model = segmenta.LatentClassModel(n_components=3, n_init=1, random_state=5).fit(df)
    numeric = np.ascontiguousarray(df[["age", "balance"]].to_numpy(dtype=float))
    levels = model.categories_
    codes = np.column_stack([
        np.array([-1 if v is None else int(np.searchsorted(lv, v)) for v in df[c].tolist()])
        for c, lv in zip(["job", "marital", "housing"], levels)]).astype(np.int32)
    n_cat = np.array([len(lv) for lv in levels], dtype=np.int32)
    init = _core.lca_initial_responsibilities(numeric, np.ascontiguousarray(codes), n_cat, 3, 5, 0)
    pr = reference.Problem(numeric, codes.astype(np.int64), n_cat.tolist(), 1e-6)
    ref = reference.fit(pr, init, 0.01, 1e-6, 1000)
    assert model.log_likelihood_ == pytest.approx(ref["log_likelihood"], rel=1e-9)
    assert model.bic_ == pytest.approx(ref["bic"], rel=1e-9)
    assert model.n_iter_ == ref["n_iter"]
    np.testing.assert_array_equal(model.labels_, ref["labels"])
    np.testing.assert_allclose(model.weights_, ref["weights"], rtol=1e-7)
    np.testing.assert_allclose(model.means_, ref["means"], rtol=1e-7)
    # the posterior of the training rows is predict_proba of the same rows
    np.testing.assert_allclose(model.predict_proba(df), model.posterior_, atol=1e-12)
    np.testing.assert_array_equal(model.predict(df), model.labels_)


def test_errors(bank):
    df = bank[["age", "job"]].head(50)
    with pytest.raises(ValueError, match="n_components"):
        segmenta.LatentClassModel(n_components=0).fit(df)
    with pytest.raises(ValueError, match="categorical"):
        segmenta.LatentClassModel().fit(df, categorical=[5])
