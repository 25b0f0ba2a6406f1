"""The inputs of the bad-input catalogue (cases.txt), made at test time.

Each entry of INPUTS maps a file name to a function returning its bytes; the
runner (check.py) makes the ones a case's command names. Large inputs are made
here rather than kept in the repository; the 1 GB line is written in pieces and
removed after its case.
"""
import json
import math
import os
import random
import struct

def _rows(n=40, seed=1):
    """A small valid customer table: age, balance, job, married."""
    rng = random.Random(seed)
    jobs = ["admin", "technician", "services", "retired"]
    out = ["age,balance,job,married"]
    for i in range(n):
        out.append(f"{20 + rng.randrange(50)},{rng.randrange(-500, 5000)},{jobs[i % 4]},{'yes' if i % 3 else 'no'}")
    return out

def good():
    return ("\n".join(_rows()) + "\n").encode()

def _with_line(index, line):
    rows = _rows()
    rows[index] = line
    return ("\n".join(rows) + "\n").encode()

def _with_cell(index, column, value):
    rows = _rows()
    cells = rows[index].split(",")
    cells[column] = value
    rows[index] = ",".join(cells)
    return ("\n".join(rows) + "\n").encode()

def wide(columns=10000, rows=30):
    rng = random.Random(5)
    head = ",".join(f"c{j}" for j in range(columns))
    body = "\n".join(",".join(str(rng.randrange(100)) for _ in range(columns)) for _ in range(rows))
    return (head + "\n" + body + "\n").encode()

def utf16(bom, little):
    text = "\n".join(_rows()) + "\n"
    data = text.encode("utf-16-le" if little else "utf-16-be")
    if bom:
        data = (b"\xff\xfe" if little else b"\xfe\xff") + data
    return data

def long_text_column(n=60, length=300):
    rng = random.Random(9)
    out = ["age,balance,note"]
    for i in range(n):
        note = "".join(rng.choice("abcdefghij ") for _ in range(length))
        out.append(f"{20 + i % 40},{i * 13 % 700},{note}")
    return ("\n".join(out) + "\n").encode()

def ids_only():
    return ("customer_id,uuid\n" + "".join(f"{i},u{i}\n" for i in range(30))).encode()

def identical():
    return ("age,job\n" + "30,admin\n" * 30).encode()

def npy(rows, cols, values):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, %d), }" % (rows, cols)
    header += " " * (63 - len(header) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack(f"<{len(values)}d", *values)

INPUTS = {
    "good.csv": good,
    "empty.csv": lambda: b"",
    "blank_lines.csv": lambda: b"\n\r\n  \n",
    "header_only.csv": lambda: b"age,balance,job,married\n",
    "ragged_more.csv": lambda: _with_line(5, "30,100,admin,yes,extra"),
    "ragged_fewer.csv": lambda: _with_line(7, "30,100"),
    "unterminated_quote.csv": lambda: _with_line(9, '30,100,"admin,yes'),
    "after_quote.csv": lambda: _with_line(3, '30,100,"admin"x,yes'),
    "invalid_utf8.csv": lambda: _with_cell(4, 2, "adm\xffin".encode("latin-1").decode("latin-1")).replace(b"adm\xc3\xbfin", b"adm\xffin"),
    "overlong_utf8.csv": lambda: _with_line(6, "30,100,x,yes").replace(b"30,100,x,yes", b"30,100,\xc0\xaf,yes"),
    "truncated_utf8.csv": lambda: good() + b"30,100,caf\xc3",
    "surrogate_utf8.csv": lambda: good() + b"30,100,\xed\xa0\x80,yes\n",
    "utf16le_bom.csv": lambda: utf16(True, True),
    "utf16be_bom.csv": lambda: utf16(True, False),
    "utf16le.csv": lambda: utf16(False, True),
    "utf8_bom.csv": lambda: b"\xef\xbb\xbf" + good(),
    "crlf.csv": lambda: good().replace(b"\n", b"\r\n"),
    "lone_cr.csv": lambda: good().replace(b"\n", b"\r"),
    "duplicate_names.csv": lambda: good().replace(b"age,balance,job,married", b"age,age,job,job", 1),
    "empty_names.csv": lambda: good().replace(b"age,balance,job,married", b",balance,,married", 1),
    "wide.csv": wide,
    "one_row.csv": lambda: b"age,job\n30,admin\n",
    "identical.csv": identical,
    "one_customer.csv": lambda: ("\n".join(_rows()[:2]) + "\n").encode(),
    "inf.csv": lambda: _with_cell(12, 1, "inf"),
    "minus_inf.csv": lambda: _with_cell(12, 1, "-inf"),
    "e400.csv": lambda: _with_cell(20, 1, "1e400"),
    "huge_finite.csv": lambda: ("a,b\n" + "".join(f"{v},{i % 3}\n" for i, v in enumerate(["1e308", "-1e308", "5", "1e300"] * 5))).encode(),
    "nul_byte.csv": lambda: _with_cell(12, 1, "12\x0034"),
    "unknown_age.csv": lambda: _with_cell(8, 0, "unknown"),
    "thousands.csv": lambda: _with_cell(8, 1, '"1,234.5"'),
    "decimal_comma.csv": lambda: good().replace(b",", b";").replace(b";1", b";1,5"),
    "all_missing_column.csv": lambda: ("age,balance,note\n" + "".join(f"{20 + i},{i * 7},NA\n" for i in range(30))).encode(),
    "ids_only.csv": ids_only,
    "long_text.csv": long_text_column,
    "many_strays.csv": lambda: ("age,job\n" + "".join(f"{'n/a x' if i % 2 else 20 + i},admin{i % 3}\n" for i in range(40))).encode(),
    "binary.csv": lambda: bytes(range(256)) * 4,
    "template_unclosed.txt": lambda: b"Age: {age",
    "nan.npy": lambda: npy(3, 2, [1.0, 2.0, float("nan"), 4.0, 5.0, 6.0]),
    "truncated.npy": lambda: npy(3, 2, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])[:-9],
    "one_row.npy": lambda: npy(1, 2, [1.0, 2.0]),
    "not_npy.npy": lambda: b"age,job\n1,2\n",
}

# Model files: made from a good model.json (the runner fits one) by a change.
def _model_edit(edit):
    def make(model):
        m = json.loads(model)
        edit(m)
        return json.dumps(m).encode()
    return make

def _first_method(m):
    return m["methods"][m["method"]]

def _nan_centre(m):
    # Centres are base64 float64: eight 0xff bytes are a NaN.
    import base64
    raw = bytearray(base64.b64decode(_first_method(m)["centers"]["base64"]))
    raw[0:8] = b"\xff" * 8
    _first_method(m)["centers"]["base64"] = base64.b64encode(bytes(raw)).decode()

def _ecod_column(m, j=0):
    return m["outliers"]["columns"][j]

def _reverse_values(m):
    # The distinct training values are base64 float64, strictly ascending.
    import base64
    raw = base64.b64decode(_ecod_column(m)["values"]["base64"])
    items = [raw[i:i + 8] for i in range(0, len(raw), 8)]
    _ecod_column(m)["values"]["base64"] = base64.b64encode(b"".join(reversed(items))).decode()

def _drop(key):
    return _model_edit(lambda m: m.pop(key))

MODEL_INPUTS = {
    "model_not_json.json": lambda model: b"{ this is not json",
    "model_empty.json": lambda model: b"",
    "model_array.json": lambda model: b"[1, 2, 3]",
    "model_other_format.json": _model_edit(lambda m: m.update(format="something-else")),
    "model_version.json": _model_edit(lambda m: m.update(version=3)),
    "model_no_methods.json": _drop("methods"),
    "model_no_prep.json": _drop("prep"),
    "model_no_columns.json": _drop("columns"),
    "model_unknown_type.json": _model_edit(lambda m: m["columns"][0].update(type="wavelet")),
    "model_huge_number.json": lambda model: model.replace(b'"version":2', b'"version":1e999', 1),
    "model_truncated.json": lambda model: model[: len(model) // 2],
    "model_nan_centre.json": _model_edit(_nan_centre),
    # Sizes that wrap around in 64 bits, or are not integers: each once reached an
    # allocation failure (exit 1), a double free or an undefined float-to-integer cast.
    "model_count_wraps.json": _model_edit(lambda m: _first_method(m)["centers"].update(n=1 << 61, base64="")),
    "model_shape_wraps.json": _model_edit(lambda m: _first_method(m)["centers"].update(rows=1 << 32, cols=1 << 32, n=0, base64="")),
    "model_block_wraps.json": _model_edit(lambda m: m["prep"]["blocks"][0].update(first_feature=(1 << 64) - 1, n_features=2)),
    "model_count_float.json": _model_edit(lambda m: _first_method(m)["centers"].update(n=1e300)),
    "model_rows_negative.json": _model_edit(lambda m: _first_method(m)["centers"].update(rows=-3)),
    "model_skew_float.json": _model_edit(lambda m: m["outliers"]["skew_sign"].__setitem__(0, 1e300)),
    # The outlier model's columns: distinct values with their counts (model version 2).
    "model_ecod_unsorted.json": _model_edit(_reverse_values),
    "model_ecod_count_zero.json": _model_edit(lambda m: _ecod_column(m)["counts"].__setitem__(0, 0)),
    "model_ecod_count_float.json": _model_edit(lambda m: _ecod_column(m)["counts"].__setitem__(0, 1e300)),
    "model_ecod_count_sum.json": _model_edit(lambda m: m["outliers"].update(n_train=m["outliers"]["n_train"] + 1)),
    "model_ecod_counts_short.json": _model_edit(lambda m: _ecod_column(m)["counts"].pop()),
    "model_ecod_no_columns.json": _model_edit(lambda m: m["outliers"].pop("columns")),
}

# Model folders: the shared tokenizer files with one thing wrong.
def safetensors(header, data=b""):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data

FOLDER_WEIGHTS = {
    "folder_no_weights": None,
    "folder_short_weights": b"\x01\x02\x03",
    "folder_header_too_long": struct.pack("<Q", 1 << 40) + b"{}",
    "folder_header_past_end": struct.pack("<Q", 500) + b"{}",
    "folder_header_not_json": safetensors(b"{not json at all}"),
    "folder_header_not_object": safetensors(b"[1,2]"),
    "folder_bad_dtype": safetensors({"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    "folder_offsets_past_end": safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
    "folder_shape_overflow": safetensors({"w": {"dtype": "F32", "shape": [1 << 62, 1 << 62], "data_offsets": [0, 8]}}, b"\0" * 8),
    "folder_deep_header": safetensors(b"[" * 100000 + b"]" * 100000),
}

# config.json and tokenizer.json with one thing wrong (the rest of the folder intact).
FOLDER_CONFIGS = {
    "folder_config_line_three": b'{\n  "hidden_size": 384,\n  "num_hidden_layers": 6,,\n}\n',
    "folder_config_not_object": b"[384, 6]",
    "folder_config_huge_number": b'{"hidden_size": 1e400}',
}
FOLDER_TOKENIZERS = {
    "folder_tokenizer_truncated": b'{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0,',
    "folder_tokenizer_model_number": b'{"model": 5}',
    "folder_tokenizer_no_model": b'{"normalizer": null}',
}

def tiny_bert_weights(vocab, nan_in):
    """Weights of a 1-layer, hidden-8 BERT for a vocabulary of `vocab` tokens, every
    value 0.01 but element 3 of the tensor `nan_in`, a NaN; and its config.json."""
    h, f, positions = 8, 16, 512
    shapes = {"embeddings.word_embeddings.weight": [vocab, h], "embeddings.position_embeddings.weight": [positions, h],
              "embeddings.token_type_embeddings.weight": [2, h], "embeddings.LayerNorm.weight": [h],
              "embeddings.LayerNorm.bias": [h]}
    b = "encoder.layer.0."
    for part in ("query", "key", "value"):
        shapes[b + f"attention.self.{part}.weight"] = [h, h]
        shapes[b + f"attention.self.{part}.bias"] = [h]
    shapes.update({b + "attention.output.dense.weight": [h, h], b + "attention.output.dense.bias": [h],
                   b + "attention.output.LayerNorm.weight": [h], b + "attention.output.LayerNorm.bias": [h],
                   b + "intermediate.dense.weight": [f, h], b + "intermediate.dense.bias": [f],
                   b + "output.dense.weight": [h, f], b + "output.dense.bias": [h],
                   b + "output.LayerNorm.weight": [h], b + "output.LayerNorm.bias": [h]})
    header, data = {}, b""
    for tensor, shape in sorted(shapes.items()):
        n = 1
        for d in shape:
            n *= d
        values = [0.01] * n
        if tensor == nan_in:
            values[3] = float("nan")
        raw = struct.pack(f"<{n}f", *values)
        header[tensor] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    config = {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab, "hidden_size": h,
              "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": f, "hidden_act": "gelu",
              "max_position_embeddings": positions, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0}
    return safetensors(header, data), json.dumps(config).encode()

def make_folder(path, name, shared_model):
    """A model folder named `name` (a key of FOLDER_WEIGHTS, or folder_no_config / folder_bad_config)."""
    os.makedirs(path, exist_ok=True)
    for entry in os.listdir(shared_model):
        src = os.path.join(shared_model, entry)
        if os.path.isfile(src):
            with open(src, "rb") as f, open(os.path.join(path, entry), "wb") as g:
                g.write(f.read())
        elif os.path.isdir(src):
            os.makedirs(os.path.join(path, entry), exist_ok=True)
            for e in os.listdir(src):
                with open(os.path.join(src, e), "rb") as f, open(os.path.join(path, entry, e), "wb") as g:
                    g.write(f.read())
    if name == "folder_no_config":
        os.remove(os.path.join(path, "config.json"))
    elif name == "folder_bad_config":
        with open(os.path.join(path, "config.json"), "w") as f:
            f.write('{"hidden_size": ')
    elif name in FOLDER_CONFIGS:
        with open(os.path.join(path, "config.json"), "wb") as f:
            f.write(FOLDER_CONFIGS[name])
    elif name in FOLDER_TOKENIZERS:
        with open(os.path.join(path, "tokenizer.json"), "wb") as f:
            f.write(FOLDER_TOKENIZERS[name])
        with open(os.path.join(path, "model.safetensors"), "wb") as f:  # the tokenizer is read after the weights
            f.write(safetensors({}))
    elif name == "folder_nan_weights":
        with open(os.path.join(path, "vocab.txt"), "rb") as f:
            vocab = len(f.read().decode().splitlines())
        weights, config = tiny_bert_weights(vocab, "encoder.layer.0.attention.self.query.weight")
        with open(os.path.join(path, "model.safetensors"), "wb") as f:
            f.write(weights)
        with open(os.path.join(path, "config.json"), "wb") as f:
            f.write(config)
        with open(os.path.join(path, "1_Pooling", "config.json"), "w") as f:
            json.dump({"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}, f)
    elif name == "folder_bad_vocab":
        with open(os.path.join(path, "config.json"), "rb") as f:
            cfg = f.read()
        for extra in ("vocab.txt", "tokenizer.json"):
            with open(os.path.join(path, extra), "wb") as f:
                f.write(b"\xff\xfe not a vocabulary")
        with open(os.path.join(path, "model.safetensors"), "wb") as f:
            f.write(safetensors({}))
    else:
        weights = FOLDER_WEIGHTS[name]
        if weights is not None:
            with open(os.path.join(path, "model.safetensors"), "wb") as f:
                f.write(weights)

def make_huge_line(path, megabytes):
    """A header, then one line of `megabytes` MB without a delimiter: a ragged row."""
    chunk = b"x" * (1 << 20)
    with open(path, "wb") as f:
        f.write(b"age,job\n30,admin\n")
        for _ in range(megabytes):
            f.write(chunk)
        f.write(b"\n")
