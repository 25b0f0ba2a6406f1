"""Shared fixtures: the reference data (../shared beside the checkout, or
$SEGMENTA_SHARED) and the command-line program ($SEGMENTA_CLI) for comparisons."""

import json
import os
import pathlib

import numpy as np
import pandas as pd
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def shared_dir():
    return pathlib.Path(os.environ.get("SEGMENTA_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared():
    d = shared_dir()
    if not (d / "golden").is_dir():
        pytest.skip(f"reference data not found at {d} (set SEGMENTA_SHARED)")
    return d


@pytest.fixture(scope="session")
def golden(shared):
    return shared / "golden"


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="session")
def bank(shared):
    """bank.csv (4521 rows) as the blog reads it."""
    return pd.read_csv(shared / "data" / "bank.csv", sep=";")


@pytest.fixture(scope="session")
def inliers(golden):
    """The blog matrix of the 40691 ECOD inliers (kmeans/inlier_matrix.csv), without `row`."""
    return pd.read_csv(golden / "kmeans" / "inlier_matrix.csv").drop(columns="row")


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("SEGMENTA_CLI", str(REPO / "build" / "default" / "segmenta"))
    if not os.path.exists(path):
        pytest.skip(f"the segmenta command was not found at {path} (set SEGMENTA_CLI)")
    return path


def blobs(n=300, centers=4, p=3, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.normal(scale=6.0, size=(centers, p))
    y = rng.integers(0, centers, size=n)
    return c[y] + rng.normal(size=(n, p)), y
