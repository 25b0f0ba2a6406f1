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
    ticks = []
    while t.is_alive():
        ticks.append(time.perf_counter())
    t.join()
    segmenta.set_num_threads(0)
    # Holding the GIL would stop this loop for the whole call: no tick would fall
    # strictly inside it. (A property of the order of events, not of their speed.)
    inside = sum(1 for x in ticks if state["start"] < x < state["end"])
    print(f"call {state['end'] - state['start']:.3f} s, {inside} ticks of the Python loop during it")
    assert inside >= 10, inside


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
