"""The engine runs without the GIL: Python threads keep running during a long call,
and two calls in two threads give the results they give alone."""

import threading
import time

import numpy as np

import segmenta


def test_python_runs_while_the_engine_computes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16000, 8))
    labels = rng.integers(0, 4, size=16000)
    state = {"start": None, "end": None}

    def work():
        state["start"] = time.perf_counter()
        segmenta.silhouette_samples(X, labels)
        state["end"] = time.perf_counter()

    segmenta.set_num_threads(1)  # the engine on one core, this loop on the other
    t = threading.Thread(target=work)
    t.start()
    gaps, last = [], time.perf_counter()
    while t.is_alive():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    t.join()
    segmenta.set_num_threads(0)
    duration = state["end"] - state["start"]
    # Holding the GIL would stall this loop for the whole call.
    print(f"call {duration:.3f} s, longest stall of the Python loop {max(gaps):.4f} s")
    assert duration > 0.05
    assert max(gaps) < 0.5 * duration, (max(gaps), duration)


def test_concurrent_calls_give_their_own_results():
    rng = np.random.default_rng(1)
    Xs = [rng.normal(size=(3000, 5)) + i for i in range(2)]
    alone = [segmenta.KMeans(n_clusters=4, random_state=0).fit(X).labels_ for X in Xs]
    out = [None, None]

    def fit(i):
        out[i] = segmenta.KMeans(n_clusters=4, random_state=0).fit(Xs[i]).labels_

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for a, b in zip(alone, out):
        np.testing.assert_array_equal(a, b)
