"""SentenceEncoder against the golden embeddings of the tiny random BERT."""

import numpy as np
import pytest

import segmenta
from conftest import read_json


@pytest.fixture(scope="module")
def tiny(golden):
    return golden / "bert" / "tiny-bert-random", read_json(golden / "bert" / "tiny_bert_embeddings.json")


def test_encode_matches_the_reference(tiny):
    folder, ref = tiny
    enc = segmenta.SentenceEncoder(folder)
    texts = [s["text"] for s in ref["sentences"]]
    assert enc.dimension == ref["hidden_size"]
    pooled = enc.encode(texts, normalize_embeddings=False)
    assert pooled.dtype == np.float32 and pooled.shape == (len(texts), 64)
    np.testing.assert_allclose(pooled, np.array([s["mean_pooled"] for s in ref["sentences"]]), atol=1e-5)
    normed = enc.encode(texts, batch_size=7, normalize_embeddings=True)
    np.testing.assert_allclose(normed, np.array([s["normalized"] for s in ref["sentences"]]), atol=1e-5)
    one = enc.encode(texts[3])
    assert one.shape == (64,)
    # the batch size changes only the rounding (the shapes of the matrix products)
    np.testing.assert_allclose(enc.encode(texts, batch_size=1), enc.encode(texts, batch_size=64), atol=1e-5)


def test_errors(tiny, tmp_path):
    folder, _ = tiny
    with pytest.raises(OSError, match="model_dir: no model folder"):
        segmenta.SentenceEncoder(tmp_path / "no-model")
    with pytest.raises(ValueError, match="precision"):
        segmenta.SentenceEncoder(folder, precision="fp8")
    enc = segmenta.SentenceEncoder(folder)
    with pytest.raises(ValueError, match=r"sentences\[1\]"):
        enc.encode(["a", 3])
    with pytest.raises(ValueError, match="batch_size"):
        enc.encode(["a"], batch_size=0)


@pytest.mark.parametrize("precision,min_cosine", [("bf16", 0.9999), ("int8", 0.999)])
def test_reduced_precisions_stay_close_to_fp32(tiny, precision, min_cosine):
    folder, ref = tiny
    texts = [s["text"] for s in ref["sentences"]]
    want = np.array([s["normalized"] for s in ref["sentences"]])
    got = segmenta.SentenceEncoder(folder, precision=precision).encode(texts, normalize_embeddings=True)
    cosine = np.sum(got * want, axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cosine.min() > min_cosine, cosine.min()


def test_a_hugging_face_id_is_downloaded_into_the_cache_then_read_offline(tiny, tmp_path, monkeypatch):
    """The loopback hub of the command's tests serves the tiny model as an id."""
    import pathlib
    import subprocess
    import sys

    folder, ref = tiny
    commit = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
    server = pathlib.Path(__file__).resolve().parents[2] / "tests" / "cli" / "hub_server.py"
    hub = subprocess.Popen([sys.executable, str(server), str(folder), "someone/tiny", commit],
                           stdout=subprocess.PIPE, text=True)
    try:
        port = hub.stdout.readline().strip()
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        texts = [s["text"] for s in ref["sentences"]]
        enc = segmenta.SentenceEncoder("someone/tiny", revision=commit)
        np.testing.assert_array_equal(enc.encode(texts), segmenta.SentenceEncoder(folder).encode(texts))
        with pytest.raises(OSError, match=r"someone/absent/resolve/main/config\.json: HTTP 404"):
            segmenta.SentenceEncoder("someone/absent")
    finally:
        hub.terminate()
        hub.wait()
    snapshot = tmp_path / "hf" / "models--someone--tiny" / "snapshots" / commit
    assert (snapshot / "model.safetensors").is_symlink()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert segmenta.SentenceEncoder("someone/tiny", revision=commit).dimension == 64
    with pytest.raises(OSError, match="HF_HUB_OFFLINE is set"):
        segmenta.SentenceEncoder("someone/tiny")  # main was never fetched


def test_prompts_of_the_model(tiny, tmp_path):
    """prompt_name puts the model's prompt before each sentence, as prompt= does with a text."""
    import shutil

    folder, ref = tiny
    model = tmp_path / "with-prompts"
    shutil.copytree(folder, model)
    (model / "config_sentence_transformers.json").write_text(
        '{"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": "query"}')
    enc = segmenta.SentenceEncoder(model)
    assert enc.prompts == {"query": "query: ", "passage": "passage: "}
    texts = [s["text"] for s in ref["sentences"]][:5]
    plain = segmenta.SentenceEncoder(folder).encode(["passage: " + t for t in texts])
    np.testing.assert_array_equal(enc.encode(texts, prompt_name="passage"), plain)
    np.testing.assert_array_equal(enc.encode(texts, prompt="passage: "), plain)
    # without a name, the default prompt ("query")
    np.testing.assert_array_equal(enc.encode(texts), enc.encode(texts, prompt_name="query"))
    assert not np.array_equal(enc.encode(texts), plain)
    with pytest.raises(ValueError, match=r"no prompt 'document' \(its prompts: passage, query\)"):
        enc.encode(texts, prompt_name="document")
