"""segment(df) against `segmenta run` on the same data, the result object, the
model file and scoring."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

import segmenta

FAST = dict(maps=False, explain=False)


def run_cli(cli, df, tmp_path, *args):
    data = tmp_path / "data.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "out"
    subprocess.run([cli, "run", str(data), "--out", str(out), "--quiet", "--no-report", *args], check=True)
    return pd.read_csv(out / "segments.csv"), out


TINY = "golden/bert/tiny-bert-random"


@pytest.mark.parametrize("method,extra", [("kmeans", []), ("kprototypes", []), ("kmeans", ["--preset", "blog"]),
                                          ("lca", []), ("embed", ["--model", TINY])])
def test_labels_equal_the_command(bank, cli, shared, tmp_path, method, extra):
    kw = {}
    if extra[:1] == ["--preset"]:
        kw = dict(preset="blog")
    if extra[:1] == ["--model"]:
        extra = ["--model", str(shared / TINY)]
        kw = dict(model=str(shared / TINY))
    r = segmenta.segment(bank, method=method, k=4, **FAST, **kw)
    seg, _ = run_cli(cli, bank, tmp_path, "--method", method, "--k", "4", "--no-maps", "--no-explain", *extra)
    labels = r.labels
    assert labels.index.equals(bank.index)
    want = seg["segment"].astype("Int64")
    assert (labels.isna().to_numpy() == want.isna().to_numpy()).all()
    assert (labels.dropna().to_numpy() == want.dropna().to_numpy()).all()
    np.testing.assert_array_equal(r.outliers["outlier"].to_numpy(), seg["outlier"].to_numpy().astype(bool))
    np.testing.assert_allclose(r.outliers["outlier_score"].to_numpy(), seg["outlier_score"].to_numpy(), rtol=1e-15)
    assert r.k == 4


def test_defaults_are_the_commands(bank, cli, tmp_path):
    """segment(df) with nothing chosen (method, k, criterion) is `segmenta run` with
    nothing chosen: the same method, the same k and the same labels."""
    small = bank.iloc[:1500]
    r = segmenta.segment(small, **FAST)
    seg, out = run_cli(cli, small, tmp_path, "--no-maps", "--no-explain")
    run = json.loads((out / "run.json").read_text())
    assert r.model.method == run["parameters"]["method"] == "lca"
    want = seg["segment"].astype("Int64")
    assert (r.labels.isna().to_numpy() == want.isna().to_numpy()).all()
    assert (r.labels.dropna().to_numpy() == want.dropna().to_numpy()).all()


def test_frame_index_and_categoricals_keep_the_labels(bank):
    """A frame with another index and pandas categorical / string dtypes gives the
    same labels as the plain object frame, aligned to its index."""
    base = segmenta.segment(bank, k=3, **FAST).labels
    other = bank.copy()
    other.index = [f"c{i}" for i in range(len(other))]
    other["job"] = other["job"].astype("category")
    other["marital"] = other["marital"].astype("string")
    r = segmenta.segment(other, k=3, **FAST)
    assert list(r.labels.index[:2]) == ["c0", "c1"]
    np.testing.assert_array_equal(r.labels.to_numpy(dtype=float, na_value=-1), base.to_numpy(dtype=float, na_value=-1))


def test_result_parts(bank, tmp_path):
    r = segmenta.segment(bank, method="kmeans", k=3, tsne_sample=300)
    final = r.metrics["methods"]["kmeans"]["final"]
    sizes = r.labels.value_counts()
    assert final["k"] == 3 and final["sizes"] == sorted(sizes.tolist(), reverse=True)
    # the sweep point of the chosen k carries the final metrics
    assert r.sweep.query("k == 3")["silhouette"].item() == pytest.approx(final["silhouette"], abs=1e-12)
    assert sizes.sum() == len(bank) - r.outliers["outlier"].sum()
    assert len(r.profiles) > 0 and "segment" in r.profiles.columns
    maps = r.maps
    assert len(maps) == sizes.sum() and maps.shape[1] >= 2
    assert maps.index.isin(bank.index).all()
    assert set(r.files(report=False)) >= {"segments.csv", "model.json", "metrics.json", "run.json"}
    r.report(tmp_path / "report.html")
    text = (tmp_path / "report.html").read_text()
    assert text.lstrip().lower().startswith("<!doctype html")
    assert r._repr_html_().startswith("<iframe srcdoc=")
    written = r.write(tmp_path / "run")
    assert "segments.csv" in written and (tmp_path / "run" / "report.html").exists()


def test_model_scores_like_the_command(bank, cli, tmp_path):
    r = segmenta.segment(bank, method="kprototypes", k=3, **FAST)
    path = tmp_path / "model.json"
    r.model.save(path)
    model = segmenta.load(path)
    assert model.method == "kprototypes"
    new = bank.sample(200, random_state=1)
    got = model.score(new)
    assert got.index.equals(new.index)
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    out = tmp_path / "scores.csv"
    subprocess.run([cli, "score", str(path), str(data), "--out", str(out)], check=True)
    want = pd.read_csv(out)
    np.testing.assert_array_equal(got["segment"].to_numpy(dtype=float, na_value=np.nan), want["segment"].to_numpy(dtype=float))
    np.testing.assert_array_equal(got["outlier"].to_numpy(), want["outlier"].to_numpy().astype(bool))
    # the run's own rows score as the run labelled them
    own = model.score(bank)
    np.testing.assert_array_equal(own["segment"].to_numpy(dtype=float, na_value=-1),
                                  r.labels.to_numpy(dtype=float, na_value=-1))


def test_model_written_by_the_command_loads(bank, cli, tmp_path):
    _, out = run_cli(cli, bank, tmp_path, "--method", "kmeans", "--k", "3", "--no-maps", "--no-explain")
    model = segmenta.load(out / "model.json")
    seg = pd.read_csv(out / "segments.csv")
    got = model.score(bank)
    np.testing.assert_array_equal(got["segment"].to_numpy(dtype=float, na_value=np.nan), seg["segment"].to_numpy(dtype=float))


def test_bad_parameters_and_frames(bank):
    with pytest.raises(ValueError, match="contamination"):
        segmenta.segment(bank, contamination=0.9, **FAST)
    with pytest.raises(ValueError, match="method"):
        segmenta.segment(bank, method="dbscan")
    with pytest.raises(ValueError, match="no_such_thing"):
        segmenta.segment(bank, no_such_thing=1)
    with pytest.raises(ValueError, match="k"):
        segmenta.segment(bank, k="many")
    with pytest.raises(ValueError, match="no rows"):
        segmenta.segment(bank.iloc[:0])
    with pytest.raises(ValueError, match="no columns"):
        segmenta.segment(bank[[]])
    with pytest.raises(ValueError, match="DataFrame"):
        segmenta.segment(bank.to_numpy())
    with pytest.raises(ValueError, match="columns"):
        segmenta.segment(bank, columns=["age", "nope"])
    # One row, or rows all alike, are a data problem (ValueError), named as such.
    with pytest.raises(ValueError, match=r"^DataFrame: the table has one row; a segmentation needs at least 2"):
        segmenta.segment(bank.head(1), **FAST)
    same = pd.concat([bank.head(1)] * 12, ignore_index=True)
    with pytest.raises(ValueError, match=r"^DataFrame: all 12 rows identical \(in the columns used\)"):
        segmenta.segment(same, **FAST)
    bad = bank.copy()
    bad["balance"] = bad["balance"].astype(float)
    bad.loc[3, "balance"] = np.inf
    with pytest.raises(ValueError, match="column 'balance'"):
        segmenta.segment(bad)


def test_missing_cells_and_score_errors(bank, tmp_path):
    df = bank.head(600).copy()
    df.loc[::7, "age"] = np.nan
    df.loc[::5, "job"] = None
    r = segmenta.segment(df, k=3, **FAST)
    assert r.labels.notna().sum() > 0
    model = r.model
    with pytest.raises(ValueError, match="column 'job'"):
        model.score(df.drop(columns="job"))
    with pytest.raises(OSError):
        segmenta.load(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="JSON"):
        segmenta.Model("{not json")


def test_types_and_columns(bank):
    r = segmenta.segment(bank, columns=["age", "job", "balance"], types={"age": "categorical"}, k=3, **FAST)
    cols = [c["name"] for c in json.loads(r.model.to_json())["columns"]]
    types = {c["name"]: c["type"] for c in json.loads(r.model.to_json())["columns"]}
    assert cols == ["age", "job", "balance"] and types["age"] == "categorical"
    with pytest.raises(ValueError, match="types"):
        segmenta.segment(bank, types={"nope": "numeric"})


def customer_table(n=300, seed=3):
    """A table as users have them: an identifier, dates in three orders (ISO with a
    time in some rows, day first, month first), integer region codes, free text and
    missing values in a numeric and a categorical column."""
    rng = np.random.default_rng(seed)
    day = np.datetime64("2020-01-01") + rng.integers(0, 900, n).astype("timedelta64[D]")
    ts = pd.to_datetime(day)
    words = ["late", "delivery", "great", "service", "price", "too", "high", "thanks", "again"]
    balance = np.round(rng.lognormal(7, 1, n))
    balance[rng.random(n) < 0.1] = np.nan
    job = rng.choice(["admin.", "technician", "retired", "student"], n).astype(object)
    job[rng.random(n) < 0.1] = None
    return pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "signup": [t.strftime("%Y-%m-%d") + (" 10:30" if i % 7 == 0 else "") for i, t in enumerate(ts)],
        "last_visit": (ts + pd.Timedelta(days=40)).strftime("%d/%m/%Y"),
        "birthday": (ts - pd.Timedelta(days=12000)).strftime("%m/%d/%Y"),
        "region": rng.integers(1, 4, n),
        "comment": [f"{words[i % 9]} {words[(i // 9) % 9]} {words[(i * 5) % 9]} order {i}" for i in range(n)],
        "balance": balance,
        "job": job,
    })


def test_types_users_have_get_one_warning_each_and_read_alike(cli, tmp_path):
    """Dates, codes, identifiers and free text: one warning per such column, the same
    column types from the command and from segment(df), and scoring new rows counts
    days from the run's reference date."""
    df = customer_table()
    seg, out = run_cli(cli, df, tmp_path, "--no-maps", "--no-explain")
    metrics = json.loads((out / "metrics.json").read_text())
    cols = {c["name"]: c for c in metrics["input"]["columns"]}
    assert {n: c["type"] for n, c in cols.items()} == {
        "customer_id": "id", "signup": "numeric", "last_visit": "numeric", "birthday": "numeric",
        "region": "numeric", "comment": "text", "balance": "numeric", "job": "categorical"}
    first = pd.to_datetime(df["signup"].str[:10]).min()
    assert cols["signup"]["date"] == {"order": "ymd", "reference": first.strftime("%Y-%m-%d")}
    assert cols["last_visit"]["date"] == {"order": "dmy", "reference": (first + pd.Timedelta(days=40)).strftime("%Y-%m-%d")}
    assert cols["birthday"]["date"]["order"] == "mdy"
    warnings = [d for d in metrics["diagnostics"] if d["level"] == "warning"]
    want = {"customer_id": "identifier_column", "signup": "date_column", "last_visit": "date_column",
            "birthday": "date_column", "region": "integer_codes", "comment": "text_column"}
    for name, code in want.items():
        about = [d for d in warnings if f"'{name}'" in d["message"]]
        assert [d["code"] for d in about] == [code], (name, about)
    assert not [d for d in warnings if d["stage"] == "load" and not any(f"'{n}'" in d["message"] for n in want)]

    # The Python package reads the frame as the command read the file.
    r = segmenta.segment(df, **FAST)
    assert r.metrics["input"]["columns"] == metrics["input"]["columns"]
    load = [(level, stage, message) for level, stage, message in r.diagnostics if stage == "load"]
    assert load == [("warning", "load", d["message"]) for d in metrics["diagnostics"] if d["stage"] == "load"]
    np.testing.assert_array_equal(r.labels.to_numpy(dtype=float, na_value=-1),
                                  seg["segment"].to_numpy(dtype=float, na_value=-1))

    # New rows whose earliest dates are later than the run's: days still count from
    # the run's reference, so the run's own rows score as the run labelled them.
    new = df.iloc[150:].copy()
    assert pd.to_datetime(new["signup"].str[:10]).min() > first
    data = tmp_path / "new.csv"
    new.to_csv(data, index=False)
    scores = tmp_path / "scores.csv"
    subprocess.run([cli, "score", str(out / "model.json"), str(data), "--out", str(scores)], check=True)
    got = pd.read_csv(scores)["segment"].to_numpy(dtype=float, na_value=-1)
    np.testing.assert_array_equal(got, seg["segment"].iloc[150:].to_numpy(dtype=float, na_value=-1))
    model = segmenta.load(out / "model.json")
    np.testing.assert_array_equal(model.score(new)["segment"].to_numpy(dtype=float, na_value=-1), got)
