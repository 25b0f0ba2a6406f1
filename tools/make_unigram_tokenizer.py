#!/usr/bin/python3
"""Writes a small SentencePiece Unigram tokenizer.json in XLM-RoBERTa's layout.

No real XLM-R tokenizer.json is needed to test the Unigram tokenizer: this script
builds one from the texts it will be tested on, so that the Viterbi segmentation has
real choices to make (overlapping pieces of one to six characters with different
scores) and some characters stay uncovered (emoji, Devanagari: the unknown-piece
path and its fusing of adjacent unknown characters).

The vocabulary: <s> <pad> </s> <unk> first (ids 0-3 as in XLM-R), optionally the 256
byte pieces <0x00>..<0xFF>, then "▁" and every substring of at most six characters of
the texts' words after NFKC and the Metaspace "▁" prefix (pieces holding an emoji or a
Devanagari character left out), each scored by its count: log(count / total) + 0.4 *
(length - 1), plus a small jitter from a hash of the piece so that no two scores tie,
then <mask> last. Same texts, same file.

Layouts (--layout):
  legacy    normalizer Precompiled, pre_tokenizer Metaspace(add_prefix_space), post
            TemplateProcessing <s> $A </s> (paraphrase-multilingual-MiniLM-L12-v2's form);
  sequence  normalizer Sequence[Replace ``, Replace '', Precompiled, Replace " {2,}"],
            pre_tokenizer Sequence[WhitespaceSplit, Metaspace(prepend_scheme always)],
            post RobertaProcessing (the form of newer conversions, multilingual-e5);
  bytes     as sequence, with the byte pieces and byte_fallback.

The Precompiled normalizer's charsmap is left empty: readers of this file (segmenta and
@huggingface/transformers) apply SentencePiece's nmt_nfkc rules for it.

  /usr/bin/python3 tools/make_unigram_tokenizer.py --texts tests/fixtures/tokenizers/texts.json \\
      --layout legacy --out DIR        # writes DIR/tokenizer.json (+ tokenizer_config.json)
"""

import argparse
import collections
import json
import math
import os
import unicodedata
import zlib

META = "\u2581"


def normalize(text):
    """SentencePiece's nmt_nfkc as the Precompiled normalizer applies it (close enough for
    choosing pieces; the tokenizers under test do the real normalisation)."""
    out = []
    for c in text:
        o = ord(c)
        if 1 <= o <= 8 or o == 0x0B or 0x0E <= o <= 0x1F or o in (0x7F, 0x8F, 0x9F):
            continue
        if c in "\t\n\x0c\r\xa0\u1680\u2028\u2029\u202f\u205f\u2581\u3000\ufeff\ufffd" or 0x2000 <= o <= 0x200F:
            c = " "
        out.append(c)
    return unicodedata.normalize("NFKC", "".join(out)).replace("``", '"').replace("''", '"')


def excluded(piece):
    return any(ord(c) >= 0x1F000 or 0x0900 <= ord(c) <= 0x097F or 0x2600 <= ord(c) <= 0x27BF for c in piece)


def build_vocab(texts, with_bytes):
    counts = collections.Counter()
    for t in texts:
        for w in normalize(t).split():
            w = META + w
            for i in range(len(w)):
                for n in range(1, 7):
                    if i + n <= len(w):
                        counts[w[i : i + n]] += 1
    total = sum(counts.values())
    scored = []
    for piece, c in counts.items():
        if excluded(piece) or piece in ("<s>", "</s>", "<pad>", "<unk>", "<mask>"):
            continue
        jitter = (zlib.crc32(piece.encode("utf-8")) % 100000) * 1e-7
        scored.append((piece, math.log(c / total) + 0.4 * (len(piece) - 1) - jitter))
    if META not in counts:
        scored.append((META, -3.0))
    scored.sort(key=lambda x: (-x[1], x[0]))
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    if with_bytes:
        vocab += [[f"<0x{b:02X}>", 0.0] for b in range(256)]
    vocab += [[p, round(s, 7)] for p, s in scored]
    vocab.append(["<mask>", 0.0])
    return vocab


def added(vocab):
    ids = {p: i for i, (p, _) in enumerate(vocab)}
    out = []
    for tok in ("<s>", "<pad>", "</s>", "<unk>", "<mask>"):
        out.append(
            {
                "id": ids[tok],
                "content": tok,
                "single_word": False,
                "lstrip": tok == "<mask>",
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        )
    return out


def tokenizer_json(texts, layout):
    vocab = build_vocab(texts, layout == "bytes")
    precompiled = {"type": "Precompiled", "precompiled_charsmap": None}
    if layout == "legacy":
        normalizer = precompiled
        pre = {"type": "Metaspace", "replacement": META, "add_prefix_space": True}
        post = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in (("<s>", 0), ("</s>", 2))},
        }
    else:
        normalizer = {
            "type": "Sequence",
            "normalizers": [
                {"type": "Replace", "pattern": {"String": "``"}, "content": '"'},
                {"type": "Replace", "pattern": {"String": "''"}, "content": '"'},
                precompiled,
                {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
            ],
        }
        pre = {
            "type": "Sequence",
            "pretokenizers": [
                {"type": "WhitespaceSplit"},
                {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True},
            ],
        }
        post = {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": True,
                "add_prefix_space": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added(vocab),
        "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": post,
        "decoder": {"type": "Metaspace", "replacement": META, "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": layout == "bytes"},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", required=True, help='JSON file {"texts": [...]}')
    ap.add_argument("--layout", choices=["legacy", "sequence", "bytes"], default="legacy")
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args()
    texts = json.load(open(args.texts, encoding="utf-8"))["texts"]
    os.makedirs(args.out, exist_ok=True)
    tok = tokenizer_json(texts, args.layout)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>",
        "model_max_length": 512,
    }
    with open(os.path.join(args.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    print(f"make_unigram_tokenizer: {len(tok['model']['vocab'])} pieces ({args.layout}) -> {args.out}")


if __name__ == "__main__":
    main()
