"""The whole pipeline from a DataFrame: segment(df) -> SegmentationResult."""

import html
import io
import json
import os
import sys

import numpy as np

from . import _core


def _pandas():
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover
        raise ImportError("segmenta.segment needs pandas (Debian: python3-pandas)") from e
    return pd


def _frame_columns(df):
    """The frame's columns as the engine takes them: (name, float64 values, integral)
    for numeric dtypes, (name, [text or None], False) for everything else. The engine
    types them by the rules of its CSV reader, so a frame and the same data written as
    CSV give the same table."""
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    if df.shape[1] == 0:
        raise ValueError("df: has no columns")
    if df.shape[0] == 0:
        raise ValueError("df: has no rows")
    names = [str(c) for c in df.columns]
    seen = set()
    for n in names:
        if n in seen:
            raise ValueError(f"column '{n}': the frame has two columns of that name")
        seen.add(n)
    out = []
    for name, (_, s) in zip(names, df.items()):
        dtype = s.dtype
        if pd.api.types.is_bool_dtype(dtype):
            cells = [None if pd.isna(v) else str(bool(v)) for v in s.tolist()]
            out.append((name, cells, False))
        elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            integral = pd.api.types.is_integer_dtype(dtype)
            values = np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan))
            if np.isinf(values).any():
                row = s.index[int(np.argwhere(np.isinf(values))[0][0])]
                raise ValueError(f"column '{name}': infinite value at index {row!r}")
            out.append((name, values, integral))
        else:
            cells = []
            for v in s.tolist():
                if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
                    cells.append(None)
                elif isinstance(v, str):
                    cells.append(v)
                else:
                    cells.append(str(v))
            out.append((name, cells, False))
    return out


def _param_specs():
    return {name: (flag, switch, default) for name, flag, switch, default, _ in _core.run_params()}


def _run_values(params):
    """(name, text) pairs for the engine's parameter table (set_run_param)."""
    specs = _param_specs()
    values = []
    for name, value in params.items():
        if value is None:
            continue
        if name not in specs:
            raise ValueError(f"{name}: not a segment() parameter (see segmenta.run_parameters())")
        if name in ("data", "out", "columns", "types", "delimiter", "table", "query", "to", "to_table",
                    "if_exists"):
            raise ValueError(f"{name}: not a segment() parameter for a DataFrame (select or convert columns first)")
        flag, switch, _ = specs[name]
        if switch:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name}: must be True or False, got {value!r}")
            # A switch sets the non-default value: --no-x turns x off, --x turns it on.
            if bool(value) != flag.startswith("--no-"):
                values.append((name, "true"))
            continue
        if isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name}: expected a value, got {value!r}")
        if isinstance(value, (tuple, list)) and name == "k" and len(value) == 2:
            value = f"{value[0]}..{value[1]}"
        if isinstance(value, range) and name == "k":
            value = f"{value.start}..{value.stop - 1}"
        values.append((name, str(value)))
    return values


def run_parameters():
    """Every parameter of segment() (the engine's run parameters): name -> (default, help)."""
    return {name: (default, help_) for name, _, _, default, help_ in _core.run_params()
            if name not in ("data", "out", "columns", "types", "delimiter", "quiet")}


class Model:
    """A fitted segmentation, the same model file as ``segmenta run`` writes
    (model.json). ``score(df)`` assigns new customers; ``save(path)`` writes it;
    ``segmenta.load(path)`` reads one written by either."""

    def __init__(self, text, origin="model"):
        self._text = text if isinstance(text, str) else text.decode("utf-8")
        self._origin = origin
        try:
            self._json = json.loads(self._text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{origin}: not a JSON model file ({e.msg})") from None

    @property
    def method(self):
        return self._json.get("method")

    @property
    def methods(self):
        return list(self._json.get("methods", {}).keys())

    @property
    def columns(self):
        return [c["name"] for c in self._json.get("columns", [])]

    def to_json(self):
        return self._text

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self._text)

    def score(self, df, method=None):
        """Segments, outlier flags and scores of the rows of df (a DataFrame with the
        model's columns, by name), as ``segmenta score`` computes them: a DataFrame
        indexed like df with ``segment`` (<NA> where the run dropped the row as an
        outlier), ``probability`` (lca), ``outlier`` and ``outlier_score``."""
        pd = _pandas()
        cols = _frame_columns(df)
        r = _core.score_frame(self._text, cols, method or "", self._origin)
        seg = pd.array(r["segment"], dtype="Int64")
        outlier = r["outlier"].astype(bool)
        seg[(r["segment"] < 0) | (outlier & r["dropped"])] = pd.NA
        out = pd.DataFrame({"segment": seg}, index=df.index)
        if len(r["probability"]):
            prob = r["probability"].copy()
            prob[outlier & r["dropped"]] = np.nan
            out["probability"] = prob
        out["outlier"] = outlier
        out["outlier_score"] = r["outlier_score"]
        return out

    def predict(self, df):
        return self.score(df)["segment"]


def load(path):
    """A model file written by ``segmenta run`` or Model.save."""
    with open(path, "r", encoding="utf-8") as f:
        return Model(f.read(), origin=str(path))


class SegmentationResult:
    """What segment() computed: ``labels`` (a Series aligned to the frame's index,
    <NA> for rows not clustered; a DataFrame with a column per method for
    method='all'), ``outliers`` (DataFrame: outlier, outlier_score), ``profiles``,
    ``metrics`` (dict, metrics.json), ``maps`` (DataFrame of the clustered rows),
    ``model`` (Model), ``report(path)``, ``write(dir)`` (every output file, as the
    CLI writes them) and the report inline in Jupyter."""

    def __init__(self, core, index):
        self._core = core
        self._index = index
        self._methods = core.methods
        self._files = None

    def _outputs(self):
        if self._files is None:
            self._files = self._core.files(False)
        return self._files

    @property
    def method_names(self):
        return [m["name"] for m in self._methods]

    def _labels(self, m):
        pd = _pandas()
        seg = pd.array(m["segment_of_row"], dtype="Int64")
        seg[m["segment_of_row"] < 0] = pd.NA
        return pd.Series(seg, index=self._index, name=m["name"])

    @property
    def labels(self):
        pd = _pandas()
        if len(self._methods) == 1:
            return self._labels(self._methods[0])
        return pd.DataFrame({m["name"]: self._labels(m) for m in self._methods}, index=self._index)

    @property
    def k(self):
        return {m["name"]: m["k"] for m in self._methods} if len(self._methods) > 1 else self._methods[0]["k"]

    @property
    def probability(self):
        pd = _pandas()
        for m in self._methods:
            if len(m["probability"]):
                return pd.Series(m["probability"], index=self._index, name="probability")
        return None

    @property
    def outliers(self):
        pd = _pandas()
        return pd.DataFrame({"outlier": self._core.outlier_flags.astype(bool),
                             "outlier_score": self._core.outlier_scores}, index=self._index)

    @property
    def metrics(self):
        return json.loads(self._outputs()["metrics.json"])

    @property
    def profiles(self):
        pd = _pandas()
        files = self._outputs()
        frames = [pd.read_csv(io.BytesIO(text)) for name, text in files.items() if name.startswith("profiles")]
        if not frames:
            return pd.DataFrame()
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    @property
    def sweep(self):
        pd = _pandas()
        rows = [dict(method=m["name"], **p) for m in self._methods for p in m["sweep"]]
        return pd.DataFrame(rows)

    @property
    def maps(self):
        pd = _pandas()
        rows = self._core.rows
        frames = []
        for m in self._methods:
            if m["maps"] is None:
                continue
            cols = {name: values for name, values in m["maps"]}
            frames.append(pd.DataFrame(cols, index=self._index[rows]))
        if not frames:
            return pd.DataFrame(index=self._index[rows])
        return pd.concat(frames, axis=1)

    @property
    def model(self):
        return Model(self._outputs()["model.json"], origin="model.json")

    @property
    def diagnostics(self):
        return self._core.diagnostics

    @property
    def timings(self):
        return dict(self._core.timings)

    def files(self, report=True):
        """Every output file of the run as bytes, by name (segments.csv, ...)."""
        return dict(self._core.files(report))

    def write(self, directory):
        """Writes every output file to directory (all or nothing); returns their names."""
        return self._core.write(os.fspath(directory))

    def report_html(self):
        return self._core.files(True)["report.html"].decode("utf-8")

    def report(self, path):
        """Writes the HTML report to path."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.report_html())

    def _repr_html_(self):
        # The report is a whole page with its own scripts: shown in a frame of its own.
        doc = html.escape(self.report_html(), quote=True)
        return f'<iframe srcdoc="{doc}" style="width:100%;height:900px;border:0"></iframe>'

    def __repr__(self):
        parts = ", ".join(f"{m['name']}: k={m['k']}" for m in self._methods)
        n_out = int(self._core.outlier_flags.sum())
        return f"<SegmentationResult {len(self._index)} rows, {n_out} outliers, {parts}>"


def _progress_callback(progress):
    """The engine's progress lines: None (none), True (tqdm-style lines on the
    notebook's or terminal's stderr, through Python), a text stream, or a callable
    taking (line, final)."""
    if progress is None or progress is False:
        return None
    if callable(progress):
        return progress
    if progress is True or hasattr(progress, "write"):
        stream = None if progress is True else progress

        def show(line, final):
            out = stream if stream is not None else sys.stderr  # the stream of the moment (a notebook's)
            out.write("\r" + line + ("\n" if final else ""))
            out.flush()

        return show
    raise ValueError(f"progress: expected True, False, None, a text stream or a callable, got {type(progress).__name__}")


def segment(df, method="lca", k="auto", preset="standard", *, columns=None, types=None, progress=None, **params):
    """Segments the customers of a DataFrame with the engine of ``segmenta run``:
    prepare, flag outliers (ECOD), choose k, cluster, profile, explain, map.

    method: 'lca' (the command's default: the latent-class model), 'kmeans',
    'kprototypes', 'embed' or 'all'; k: 'auto', an int, or a
    range 'A..B' / (A, B); preset: 'standard' or 'blog'; columns: the columns to use
    (default all; the first eight with the blog preset, as the command); types: {column: 'numeric'|'categorical'|'id'|'text'|'date'|'date-dmy'|'date-mdy'|'date-ymd'} overrides.
    Other keyword arguments are the run parameters of the command (see
    run_parameters()), by their library names: contamination, outliers, seed,
    n_init, max_iter, tol, init, gamma, explain (bool), maps (bool), report (bool),
    tsne_sample, threads, model, template, precision... progress: True shows a
    line per long stage (stage, k, rows done, rate, time left) on sys.stderr as the
    engine works, as the command does on a terminal; a text stream or a callable
    ``f(line, final)`` receives them instead. Numeric dtypes become numeric
    columns, everything else (strings, pandas categoricals, booleans) categorical;
    the engine applies the type rules of its CSV reader, so a frame written as CSV and
    run by ``segmenta run`` gives the same labels.
    """
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"df: expected a pandas DataFrame, got {type(df).__name__}")
    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"columns: the frame has no column {missing[0]!r}")
        df = df[list(columns)]
    elif preset == "blog":
        df = df.iloc[:, :8]  # as the command: the blog keeps the first eight columns
    params = dict(params)
    params.update(method=method, k=k, preset=preset)
    type_pairs = []
    if types:
        type_pairs = [(str(c), str(t)) for c, t in types.items()]
    core = _core.segment_frame(_frame_columns(df), _run_values(params), type_pairs, "DataFrame",
                               _progress_callback(progress))
    return SegmentationResult(core, df.index)
