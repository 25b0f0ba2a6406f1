"""segment(df, progress=...): the engine's progress lines reach Python while the
engine runs without the GIL, name the stages, and change nothing in the result; a
sampled sweep (sweep_all_max below the table's rows) is reported as such."""

import threading

import pytest

import segmenta
from segmenta.metrics import adjusted_rand_score

FAST = dict(maps=False, explain=False, report=False, n_init=2)


@pytest.fixture
def show_every_stage(monkeypatch):
    # Every stage shows from its first moment (by default only after 0.5 s).
    monkeypatch.setenv("SEGMENTA_PROGRESS_AFTER", "0")


def test_a_callable_receives_lines_naming_the_stages(bank, show_every_stage):
    seen = []

    def record(line, final):
        seen.append((line, final, threading.get_ident()))

    r = segmenta.segment(bank, method="kmeans", k="2..4", progress=record, **FAST)
    text = "\n".join(line for line, _, _ in seen)
    for stage in ("prepare", "outliers (ECOD)", "k sweep kmeans", "silhouette (exact", "profiles"):
        assert stage in text, (stage, text)
    assert "3/3 k" in text
    assert any(final for _, final, _ in seen)
    quiet = segmenta.segment(bank, method="kmeans", k="2..4", **FAST)
    assert r.labels.equals(quiet.labels)


def test_true_writes_tqdm_style_lines_to_stderr(bank, show_every_stage, capsys):
    segmenta.segment(bank, method="kmeans", k="2..3", progress=True, **FAST)
    err = capsys.readouterr().err
    assert "\rk sweep kmeans" in err
    assert err.endswith("\n")


def test_no_progress_by_default(bank, show_every_stage, capsys):
    segmenta.segment(bank, method="kmeans", k=3, **FAST)
    captured = capsys.readouterr()
    assert "k sweep" not in captured.err and "\r" not in captured.err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_failing_callable_does_not_stop_the_run(bank, show_every_stage):
    calls = []

    def broken(line, final):
        calls.append(line)
        raise RuntimeError("no display")

    r = segmenta.segment(bank, method="kmeans", k=3, progress=broken, **FAST)
    assert r.k == 3
    assert len(calls) == 1  # reported once as unraisable, then no more calls


def test_bad_progress_argument(bank):
    with pytest.raises(ValueError, match="progress"):
        segmenta.segment(bank, method="kmeans", k=3, progress=42, **FAST)


@pytest.mark.parametrize("method", ["kprototypes", "lca"])
def test_sampled_sweep_is_reported_and_close_to_the_full_one(bank, method):
    full = segmenta.segment(bank, method=method, k="2..5", **FAST)
    sampled = segmenta.segment(bank, method=method, k="2..5", sweep_all_max=2000, sweep_sample=3000, **FAST)
    sample = sampled.metrics["methods"][method]["sweep"]["sample"]
    assert sample["rows"] == 3000 and sample["of_rows"] == len(sampled.labels.dropna())
    assert "sample" not in full.metrics["methods"][method]["sweep"]
    assert sampled.k == full.k
    both = full.labels.notna() & sampled.labels.notna()
    assert adjusted_rand_score(full.labels[both].to_numpy(), sampled.labels[both].to_numpy()) > 0.8
