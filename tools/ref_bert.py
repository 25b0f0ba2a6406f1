#!/usr/bin/python3
"""Reference BERT / XLM-RoBERTa sentence-transformer forward pass in PyTorch.

Reads a sentence-transformers model folder (config.json, model.safetensors,
modules.json, 1_Pooling/config.json) and token ids (one sequence per line, ids
separated by spaces, [CLS] ... [SEP] or <s> ... </s> included), runs Hugging Face
BertModel's forward pass written out with torch.nn.functional (padding batches with
an attention mask, token_type_ids 0, position ids 0..T-1; for model_type
xlm-roberta / roberta, XLMRobertaModel's position ids: padding_idx + 1 + t for real
tokens, padding_idx for padding, as create_position_ids_from_input_ids makes them),
pools as the Pooling module says (cls, max, mean, mean_sqrt_len, lasttoken: the last
token under the attention mask) and L2-normalises when asked or when modules.json
has a Normalize module. Writes the vectors as a float64 .npy file. --pooling MODE
replaces the folder's pooling with one mode.

This is the oracle of tests/golden/embed_minilm_torch_test.cpp and the torch
side of bench/compare/embed_torch.py. Needs /usr/bin/python3 with numpy and
torch (Debian: python3-numpy python3-torch).

  /usr/bin/python3 tools/ref_bert.py --model DIR --ids ids.txt --out ref.npy [--dtype float64] [--pooling MODE]
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """name -> numpy array (BF16 widened to float32)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    data = memoryview(blob)[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        raw = data[begin:end]
        if t["dtype"] == "BF16":
            u16 = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=DTYPES[t["dtype"]])
        out[name] = arr.reshape(t["shape"])
    return out


class Model:
    def __init__(self, folder, dtype=torch.float64, linear="blas"):
        transformer = folder
        self.normalize = False
        pooling_dir = None
        modules = os.path.join(folder, "modules.json")
        if os.path.exists(modules):
            for m in json.load(open(modules)):
                kind = m["type"].rsplit(".", 1)[-1]
                if kind == "Transformer":
                    transformer = os.path.join(folder, m.get("path", ""))
                elif kind == "Pooling":
                    pooling_dir = os.path.join(folder, m["path"])
                elif kind == "Normalize":
                    self.normalize = True
        cfg = json.load(open(os.path.join(transformer, "config.json")))
        self.H = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.L = cfg["num_hidden_layers"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.roberta = cfg.get("model_type", "bert") in ("xlm-roberta", "roberta")
        self.padding_idx = cfg.get("pad_token_id", 1 if self.roberta else 0)
        self.pool = {"cls": False, "mean": True, "max": False, "mean_sqrt_len": False, "lasttoken": False}
        if pooling_dir and os.path.exists(os.path.join(pooling_dir, "config.json")):
            p = json.load(open(os.path.join(pooling_dir, "config.json")))
            self.pool = {
                "cls": p.get("pooling_mode_cls_token", False),
                "mean": p.get("pooling_mode_mean_tokens", True),
                "max": p.get("pooling_mode_max_tokens", False),
                "mean_sqrt_len": p.get("pooling_mode_mean_sqrt_len_tokens", False),
                "lasttoken": p.get("pooling_mode_lasttoken", False),
            }
        w = read_safetensors(os.path.join(transformer, "model.safetensors"))
        prefix = ""
        for p in ("bert.", "roberta.", "xlm_roberta."):
            if p + "embeddings.word_embeddings.weight" in w:
                prefix = p
        self.dtype = dtype
        self.linear = linear
        t = lambda name: torch.from_numpy(np.array(w[prefix + name], dtype=np.float64)).to(dtype)
        self.word = t("embeddings.word_embeddings.weight")
        self.pos = t("embeddings.position_embeddings.weight")
        self.type = t("embeddings.token_type_embeddings.weight")
        self.emb_ln = (t("embeddings.LayerNorm.weight"), t("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(self.L):
            b = f"encoder.layer.{i}."
            lin = lambda n: self._linear(t(b + n + ".weight"), t(b + n + ".bias"))
            self.layers.append(
                {
                    "q": lin("attention.self.query"),
                    "k": lin("attention.self.key"),
                    "v": lin("attention.self.value"),
                    "o": lin("attention.output.dense"),
                    "ln1": (t(b + "attention.output.LayerNorm.weight"), t(b + "attention.output.LayerNorm.bias")),
                    "i": lin("intermediate.dense"),
                    "out": lin("output.dense"),
                    "ln2": (t(b + "output.LayerNorm.weight"), t(b + "output.LayerNorm.bias")),
                }
            )

    def _linear(self, weight, bias):
        if self.linear == "mkldnn":
            # oneDNN inner product on the weights converted once (what torch's
            # mkldnn_linear does for nn.Linear after torch.utils.mkldnn.to_mkldnn).
            wm, bm = weight.to_mkldnn(), bias.to_mkldnn()

            def f(x):
                shape = x.shape
                y = torch._C._nn.mkldnn_linear(x.reshape(-1, shape[-1]).to_mkldnn(), wm, bm).to_dense()
                return y.view(*shape[:-1], -1)

            return f
        return lambda x: F.linear(x, weight, bias)

    def forward(self, ids, mask):
        """ids (B, T) long, mask (B, T) of 0/1 -> last hidden states (B, T, H)."""
        B, T = ids.shape
        H, nh = self.H, self.heads
        d = H // nh
        if self.roberta:
            # XLMRobertaEmbeddings: cumulative count of real tokens, offset by padding_idx.
            m64 = mask.to(torch.long)
            position_ids = torch.cumsum(m64, dim=1) * m64 + self.padding_idx
            x = self.word[ids] + self.pos[position_ids] + self.type[0]
        else:
            x = self.word[ids] + self.pos[:T].unsqueeze(0) + self.type[0]
        x = F.layer_norm(x, (H,), *self.emb_ln, eps=self.eps)
        m = mask.to(self.dtype)
        ext = (1.0 - m)[:, None, None, :] * torch.finfo(self.dtype).min
        split = lambda y: y.view(B, T, nh, d).transpose(1, 2)
        for L in self.layers:
            q, k, v = split(L["q"](x)), split(L["k"](x)), split(L["v"](x))
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + ext
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(B, T, H)
            x = F.layer_norm(L["o"](ctx) + x, (H,), *L["ln1"], eps=self.eps)
            x = F.layer_norm(L["out"](F.gelu(L["i"](x))) + x, (H,), *L["ln2"], eps=self.eps)
        return x

    def pool_batch(self, x, mask):
        m = mask.to(self.dtype).unsqueeze(-1)
        parts = []
        if self.pool["cls"]:
            parts.append(x[:, 0])
        if self.pool["max"]:
            parts.append(torch.where(m > 0, x, torch.full_like(x, -1e9)).max(dim=1).values)
        if self.pool["mean"] or self.pool["mean_sqrt_len"]:
            s = (x * m).sum(dim=1)
            n = m.sum(dim=1).clamp(min=1e-9)
            if self.pool["mean"]:
                parts.append(s / n)
            if self.pool["mean_sqrt_len"]:
                parts.append(s / torch.sqrt(n))
        if self.pool["lasttoken"]:
            # The last position whose mask is 1 (right padding).
            last = mask.to(torch.long).sum(dim=1) - 1
            parts.append(x[torch.arange(x.shape[0]), last])
        return torch.cat(parts, dim=1)

    def embed_modes(self, sequences, modes, batch_size=32):
        """One forward pass, pooled with each mode in turn: {mode: float64 array}."""
        out = {m: [] for m in modes}
        with torch.inference_mode():
            for b in range(0, len(sequences), batch_size):
                batch = sequences[b : b + batch_size]
                T = max(len(s) for s in batch)
                ids = torch.zeros(len(batch), T, dtype=torch.long)
                mask = torch.zeros(len(batch), T, dtype=torch.long)
                for i, s in enumerate(batch):
                    ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
                    mask[i, : len(s)] = 1
                x = self.forward(ids, mask)
                for m in modes:
                    self.pool = {k: k == m for k in self.pool}
                    v = self.pool_batch(x, mask)
                    if self.normalize:
                        v = F.normalize(v, p=2, dim=1)
                    out[m].append(v)
        return {m: torch.cat(v).to(torch.float64).numpy() for m, v in out.items()}

    def embed(self, sequences, batch_size=32, normalize=None):
        out = []
        with torch.inference_mode():
            for b in range(0, len(sequences), batch_size):
                batch = sequences[b : b + batch_size]
                T = max(len(s) for s in batch)
                ids = torch.zeros(len(batch), T, dtype=torch.long)
                mask = torch.zeros(len(batch), T, dtype=torch.long)
                for i, s in enumerate(batch):
                    ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
                    mask[i, : len(s)] = 1
                v = self.pool_batch(self.forward(ids, mask), mask)
                if self.normalize if normalize is None else normalize:
                    v = F.normalize(v, p=2, dim=1)
                out.append(v)
        return torch.cat(out).to(torch.float64).numpy()


def read_ids(path):
    with open(path) as f:
        return [[int(t) for t in line.split()] for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="sentence-transformers model folder")
    ap.add_argument("--ids", required=True, help="token ids, one sequence per line")
    ap.add_argument("--out", required=True, help="output .npy (float64, n x dim)")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--normalize", action="store_true", help="L2-normalise (default: as modules.json says)")
    ap.add_argument("--pooling", help="pool with this one mode instead of the folder's (cls, mean, max, mean_sqrt_len, "
                    "lasttoken); several, comma-separated, write OUT with .MODE before .npy for each, from one forward pass")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = Model(args.model, torch.float64 if args.dtype == "float64" else torch.float32)
    modes = list(dict.fromkeys(args.pooling.split(","))) if args.pooling else []
    for m in modes:
        if m not in model.pool:
            ap.error(f"--pooling: unknown mode '{m}'")
    seqs = read_ids(args.ids)
    if args.pooling and "," in args.pooling:
        t0 = time.perf_counter()
        if args.normalize:
            model.normalize = True
        for m, v in model.embed_modes(seqs, modes, args.batch_size).items():
            np.save(args.out[: -len(".npy")] + "." + m + ".npy" if args.out.endswith(".npy") else args.out + "." + m, v)
        dt = time.perf_counter() - t0
        print(f"ref_bert: {len(seqs)} sequences, {len(modes)} poolings in {dt:.2f} s ({args.dtype})", file=sys.stderr)
        return
    if modes:
        model.pool = {k: k == modes[0] for k in model.pool}
    t0 = time.perf_counter()
    vecs = model.embed(seqs, args.batch_size, True if args.normalize else None)
    dt = time.perf_counter() - t0
    np.save(args.out, vecs)
    print(f"ref_bert: {len(seqs)} sequences in {dt:.2f} s ({len(seqs) / dt:.1f} sentences/s, {args.dtype})", file=sys.stderr)


if __name__ == "__main__":
    main()
