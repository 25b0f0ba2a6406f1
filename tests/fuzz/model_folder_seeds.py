#!/usr/bin/env python3
"""Writes the seed corpus of the model_folder fuzz target (corpus/model_folder/).

Each seed is one byte choosing the file of the target's base folder that the rest
replaces (the order of kFiles in model_folder.cpp), then a valid version of that
file for the base folder: a 1-layer, hidden-8 BERT with a 12-token vocabulary.
"""
import json
import pathlib
import random
import struct

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "corpus" / "model_folder"
FILES = ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "modules.json", "sentence_bert_config.json", "1_Pooling/config.json",
         "config_sentence_transformers.json"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##a", "the", "age", "job"]
H, F, V, P, T = 8, 16, 12, 16, 2


def safetensors(tensors, dtype="F32"):
    rng = random.Random(1)
    header, data = {}, b""
    for name, shape in sorted(tensors):
        n = 1
        for d in shape:
            n *= d
        values = [(1.0 if name.endswith("LayerNorm.weight") else 0.0) + rng.gauss(0, 0.05) for _ in range(n)]
        if dtype == "F32":
            raw = struct.pack(f"<{n}f", *values)
        else:
            raw = struct.pack(f"<{n}e", *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def weights(dtype="F32"):
    t = [("embeddings.word_embeddings.weight", [V, H]), ("embeddings.position_embeddings.weight", [P, H]),
         ("embeddings.token_type_embeddings.weight", [T, H]), ("embeddings.LayerNorm.weight", [H]),
         ("embeddings.LayerNorm.bias", [H])]
    b = "encoder.layer.0."
    for part in ("query", "key", "value"):
        t += [(b + f"attention.self.{part}.weight", [H, H]), (b + f"attention.self.{part}.bias", [H])]
    t += [(b + "attention.output.dense.weight", [H, H]), (b + "attention.output.dense.bias", [H]),
          (b + "attention.output.LayerNorm.weight", [H]), (b + "attention.output.LayerNorm.bias", [H]),
          (b + "intermediate.dense.weight", [F, H]), (b + "intermediate.dense.bias", [F]),
          (b + "output.dense.weight", [H, F]), (b + "output.dense.bias", [H]),
          (b + "output.LayerNorm.weight", [H]), (b + "output.LayerNorm.bias", [H])]
    return safetensors(t, dtype)


def js(obj):
    return json.dumps(obj, indent=1).encode() + b"\n"


seeds = {
    "config_json": ("config.json", js({"architectures": ["BertModel"], "model_type": "bert", "vocab_size": V,
                                        "hidden_size": H, "num_hidden_layers": 1, "num_attention_heads": 2,
                                        "intermediate_size": F, "hidden_act": "gelu", "max_position_embeddings": P,
                                        "type_vocab_size": T, "layer_norm_eps": 1e-12,
                                        "position_embedding_type": "absolute", "pad_token_id": 0})),
    "config_json_xlmr": ("config.json", js({"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
                                             "vocab_size": V, "hidden_size": H, "num_hidden_layers": 1,
                                             "num_attention_heads": 2, "intermediate_size": F, "hidden_act": "gelu",
                                             "max_position_embeddings": P, "type_vocab_size": 1,
                                             "layer_norm_eps": 1e-5, "pad_token_id": 1})),
    "weights_f32": ("model.safetensors", weights("F32")),
    "weights_f16": ("model.safetensors", weights("F16")),
    "vocab_txt": ("vocab.txt", ("\n".join(VOCAB) + "\n").encode()),
    "tokenizer_wordpiece": ("tokenizer.json", js({
        "version": "1.0",
        "added_tokens": [{"id": i, "content": t, "special": True, "normalized": False} for i, t in enumerate(VOCAB[:5])],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}]},
        "padding": {"pad_token": "[PAD]", "pad_id": 0},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(VOCAB)}}})),
    "tokenizer_unigram": ("tokenizer.json", js({
        "version": "1.0",
        "added_tokens": [{"id": 0, "content": "<s>", "special": True}, {"id": 1, "content": "<pad>", "special": True},
                         {"id": 2, "content": "</s>", "special": True}, {"id": 3, "content": "<unk>", "special": True}],
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace",
                       "pattern": {"Regex": " {2,}"}, "content": " "}, {"type": "Lowercase"}]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "</s>", "type_id": 0}}]},
        "padding": {"pad_id": 1},
        "model": {"type": "Unigram", "unk_id": 3, "byte_fallback": False,
                  "vocab": [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u2581the", -2.0],
                            ["\u2581a", -2.5], ["ge", -3.0], ["\u2581", -3.5], ["a", -4.0], ["b", -4.0], ["c", -4.0],
                            ["job", -3.0]]}})),
    "tokenizer_config": ("tokenizer_config.json", js({"do_lower_case": True, "unk_token": "[UNK]", "cls_token": "[CLS]",
                                                       "sep_token": "[SEP]", "pad_token": "[PAD]",
                                                       "mask_token": "[MASK]", "model_max_length": 16,
                                                       "tokenize_chinese_chars": True, "strip_accents": None})),
    "special_tokens_map": ("special_tokens_map.json", js({"unk_token": "[UNK]", "cls_token": "[CLS]",
                                                           "sep_token": "[SEP]", "pad_token": "[PAD]",
                                                           "mask_token": "[MASK]",
                                                           "additional_special_tokens": ["[MASK]"]})),
    "modules_json": ("modules.json", js([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}])),
    "sentence_bert_config": ("sentence_bert_config.json", js({"max_seq_length": 8, "do_lower_case": True})),
    "pooling_config": ("1_Pooling/config.json", js({"word_embedding_dimension": H, "pooling_mode_cls_token": True,
                                                    "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True,
                                                    "pooling_mode_mean_sqrt_len_tokens": False,
                                                    "pooling_mode_lasttoken": False})),
    "pooling_single_mode": ("1_Pooling/config.json", js({"word_embedding_dimension": H, "pooling_mode": "lasttoken"})),
    "prompts": ("config_sentence_transformers.json", js({"prompts": {"query": "query: ", "doc": "the "},
                                                         "default_prompt_name": "query"})),
}

OUT.mkdir(parents=True, exist_ok=True)
for name, (file, body) in seeds.items():
    (OUT / name).write_bytes(bytes([FILES.index(file)]) + body)
