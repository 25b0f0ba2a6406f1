"""scikit-learn's estimator checks (sklearn.utils.estimator_checks) for the
estimators whose input is a numeric matrix. Every check applies and passes; none is
excluded. KMeans has no sample_weight parameter, so scikit-learn's sample-weight
checks do not apply to it. KPrototypes and KModes are not checked: their fit needs
categorical columns, and the generic checks feed numeric matrices only (kmodes
itself refuses those); tests/test_kprototypes.py covers their conventions."""

import warnings

import pytest
from sklearn.utils.estimator_checks import check_estimator

import segmenta

ESTIMATORS = [segmenta.KMeans(), segmenta.PCA(), segmenta.ECOD(), segmenta.PowerTransformer()]
CHECKS = [(est, check) for base in ESTIMATORS for est, check in check_estimator(base, generate_only=True)]


def _id(item):
    est, check = item
    return f"{type(est).__name__}-{getattr(check, 'func', check).__name__}"


@pytest.mark.parametrize("item", CHECKS, ids=[_id(c) for c in CHECKS])
def test_estimator_check(item):
    est, check = item
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(est)
