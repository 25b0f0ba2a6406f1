"""SentenceEncoder: sentence-transformers models (BERT and XLM-RoBERTa families) encoded in-process."""

import numpy as np

from . import _core


class SentenceEncoder:
    """``SentenceEncoder(model_dir, precision='fp32'|'bf16'|'int8', revision=None)`` reads a
    sentence-transformers model folder (config.json, tokenizer files,
    model.safetensors, pooling configuration; a name is looked up under
    $SEGMENTA_MODELS), or a Hugging Face id ('org/name', or a bare name read as
    'sentence-transformers/<name>') at ``revision`` (default 'main') from the Hugging
    Face cache that sentence-transformers uses, downloaded into it when missing
    (see docs/MODELS.md). ``encode(sentences, batch_size=32, normalize_embeddings=None)``
    returns a float32 array (n, dimension) like sentence-transformers' encode;
    normalize_embeddings None follows the folder's Normalize module; ``prompt_name``
    names a prompt of the model (``prompts``, from config_sentence_transformers.json,
    e.g. e5's 'query'), ``prompt`` gives the text to put before each sentence. Results do not
    depend on the thread count; the batch size changes the last bits only."""

    def __init__(self, model_dir, precision="fp32", revision=None):
        self.model_dir = str(model_dir)
        self.precision = precision
        self.revision = revision
        try:
            self._encoder = _core.Encoder(self.model_dir, precision, revision or "")
        except (OSError, ValueError) as e:  # the engine names its parameter "model"
            text = str(e)
            if text.startswith("model: "):
                text = "model_dir: " + text[len("model: "):]
            raise type(e)(text) from None

    @property
    def dimension(self):
        return self._encoder.dimension

    @property
    def prompts(self):
        return dict(self._encoder.prompts)

    def get_sentence_embedding_dimension(self):
        return self._encoder.dimension

    def encode(self, sentences, batch_size=32, normalize_embeddings=None, show_progress_bar=None,
               convert_to_numpy=True, prompt_name=None, prompt=None):
        single = isinstance(sentences, str)
        items = [sentences] if single else list(sentences)
        for i, s in enumerate(items):
            if not isinstance(s, str):
                raise ValueError(f"sentences[{i}]: must be a string, got {type(s).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
        if prompt is not None:
            if not isinstance(prompt, str):
                raise ValueError(f"prompt: must be a string, got {type(prompt).__name__}")
            items = [prompt + s for s in items]
            prompt_name = ""  # the given text instead of the model's default prompt
        if prompt_name is not None and not isinstance(prompt_name, str):
            raise ValueError(f"prompt_name: must be a string, got {type(prompt_name).__name__}")
        out = self._encoder.encode(items, int(batch_size), normalize_embeddings, prompt_name)
        return out[0] if single else out
