# %% [markdown]
# # Customer segmentation with segmenta's estimators
#
# The three methods of the blog post "Mastering Customer Segmentation with LLM" on the
# UCI Bank Marketing data, with segmenta's estimators in place of the original
# libraries: the imports change, the calls do not. Where an original library
# (scikit-learn, pyod, yellowbrick, prince, kmodes, sentence-transformers) is
# installed, the same step runs with it too and both figures and timings are printed
# side by side.
#
# Settings come from the environment so that this file runs as a script
# (`python3 examples/blog.py`) and as the notebook built from it
# (`python3 examples/make_notebook.py`):
# * `SEGMENTA_DATA`: the bank CSV (default `../shared/data/bank-full.csv`);
# * `SEGMENTA_MODEL`: a sentence-transformers folder with weights for method 3
#   (default: `paraphrase-MiniLM-L6-v2` under `$SEGMENTA_MODELS`; skipped without one);
# * `SEGMENTA_REFERENCES=0` skips the original libraries; `SEGMENTA_SLOW_REFERENCES=1`
#   also runs the ones that take minutes (kmodes: about 5 minutes for one fit).

# %%
import importlib.util
import os
import pathlib
import time

import numpy as np
import pandas as pd

import segmenta
from segmenta import ECOD, KMeans, KneeLocator, KPrototypes, PCA, PowerTransformer, SentenceEncoder
from segmenta import calinski_harabasz_score, davies_bouldin_score, silhouette_score

HERE = pathlib.Path(__file__).resolve().parent if "__file__" in globals() else pathlib.Path.cwd()
DATA = os.environ.get("SEGMENTA_DATA", str(HERE.parent.parent / "shared" / "data" / "bank-full.csv"))
REFERENCES = os.environ.get("SEGMENTA_REFERENCES", "1") != "0"
SLOW = os.environ.get("SEGMENTA_SLOW_REFERENCES", "0") == "1"
rows = []  # (step, segmenta seconds, reference seconds, segmenta figure, reference figure)


def have(module):
    return REFERENCES and importlib.util.find_spec(module) is not None


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    out = f(*args, **kwargs)
    return out, time.perf_counter() - t


def record(step, ours, ours_s, ref=None, ref_s=None):
    rows.append((step, ours_s, ref_s, ours, ref))
    ref_text = "" if ref_s is None else f" | reference {ref_s:8.3f} s  {ref}"
    print(f"{step:<34} segmenta {ours_s:8.3f} s  {ours}{ref_text}")


# %% [markdown]
# ## Data and preparation
# The first eight columns; the blog encodes every column with an OrdinalEncoder
# (age and balance included) and applies a Yeo-Johnson PowerTransformer.

# %%
df = pd.read_csv(DATA, sep=";").iloc[:, 0:8]
codes = np.column_stack([np.unique(df[c], return_inverse=True)[1] for c in df.columns]).astype(float)
X, s = timed(PowerTransformer().fit_transform, codes)
ref = ref_s = None
if have("sklearn"):
    from sklearn.preprocessing import PowerTransformer as SkPowerTransformer
    Xr, ref_s = timed(SkPowerTransformer().fit_transform, codes)
    ref = f"max |diff| {np.abs(X - Xr).max():.1e}"
record("PowerTransformer", f"{X.shape[0]} x {X.shape[1]}", s, ref, ref_s)

# %% [markdown]
# ## Outliers: ECOD (pyod's interface)

# %%
clf = ECOD()
_, s = timed(clf.fit, X)
outliers = clf.predict(X)
ref = ref_s = None
if have("pyod"):
    from pyod.models.ecod import ECOD as PyodECOD
    r = PyodECOD()
    _, ref_s = timed(r.fit, X)
    ref = f"{int(r.labels_.sum())} outliers"
record("ECOD", f"{int(clf.labels_.sum())} outliers", s, ref, ref_s)
inliers = outliers == 0
X_in = X[inliers]
df_in = df[inliers]

# %% [markdown]
# ## Method 1: k-means on the prepared matrix
# The elbow over k = 2..9 (yellowbrick's distortion and knee), then k = 5.

# %%
ks = list(range(2, 10))
t = time.perf_counter()
distortion = [segmenta.distortion_score(X_in, KMeans(n_clusters=k, n_init=1, random_state=0).fit_predict(X_in))
              for k in ks]
elbow = KneeLocator(ks, distortion, curve_nature="convex", curve_direction="decreasing").knee
record("elbow k=2..9", f"elbow k = {elbow:g}", time.perf_counter() - t)

km = KMeans(n_clusters=5, init="k-means++", n_init=10, max_iter=100, random_state=42)
labels, s = timed(km.fit_predict, X_in)
ref = ref_s = None
if have("sklearn"):
    from sklearn.cluster import KMeans as SkKMeans
    r, ref_s = timed(SkKMeans(n_clusters=5, init="k-means++", n_init=10, max_iter=100, random_state=42).fit, X_in)
    ref = f"inertia {r.inertia_:.1f}"
record("KMeans k=5", f"inertia {km.inertia_:.1f}", s, ref, ref_s)

(sil, s) = timed(silhouette_score, X_in, labels)
ref = ref_s = None
if have("sklearn"):
    from sklearn.metrics import silhouette_score as sk_silhouette
    r, ref_s = timed(sk_silhouette, X_in, labels)
    ref = f"{r:.4f}"
record("silhouette (exact)", f"{sil:.4f}", s, ref, ref_s)
ch, s1 = timed(calinski_harabasz_score, X_in, labels)
db, s2 = timed(davies_bouldin_score, X_in, labels)
record("Calinski-Harabasz / Davies-Bouldin", f"{ch:.2f} / {db:.4f}", s1 + s2)

pca = PCA(n_components=3, rescale_with_mean=True, rescale_with_std=True)
_, s = timed(pca.fit, pd.DataFrame(X_in, columns=df.columns))
record("PCA 3 components", f"{pca.cumulative_percentage_of_variance_[-1]:.2f} % of variance", s)

# %% [markdown]
# ## Method 2: k-prototypes on the original categories
# age and balance power-transformed (fitted on the inliers), the six other columns
# categorical, as the blog: `KPrototypes(n_clusters=5, init='Huang', n_init=10)`.

# %%
df_kp = df_in.copy()
df_kp[["age", "balance"]] = PowerTransformer().fit_transform(df_kp[["age", "balance"]].to_numpy(float))
X_kp = df_kp.to_numpy()  # an object array, as the blog passes it
categorical = [1, 2, 3, 4, 6, 7]
kp = KPrototypes(n_clusters=5, init="Huang", n_init=10, random_state=0)
kp_labels, s = timed(kp.fit_predict, X_kp, categorical=categorical)
ref = ref_s = None
if have("kmodes") and SLOW:
    from kmodes.kprototypes import KPrototypes as KmodesKPrototypes
    r = KmodesKPrototypes(n_clusters=5, init="Huang", n_init=10, random_state=0)
    _, ref_s = timed(r.fit_predict, X_kp, categorical=categorical)
    ref = f"cost {r.cost_:.1f}"
record("KPrototypes k=5 (Huang, n_init=10)", f"cost {kp.cost_:.1f}", s, ref, ref_s)
record("  sizes", str(np.bincount(kp_labels).tolist()), 0.0)

# %% [markdown]
# ## Method 3: sentence embeddings of each customer, then k-means
# Each row becomes the blog's sentence; a sentence-transformers model encodes it
# (`SentenceEncoder` in place of `SentenceTransformer`).

# %%
template = ("Age: {age},  \n                housing load: {housing}, \n                Job: {job}, \n"
            "                Marital: {marital}, \n                Education: {education}, \n"
            "                Default: {default}, \n                Balance: {balance}, \n"
            "                Personal loan: {loan}\n            ")
model_dir = os.environ.get("SEGMENTA_MODEL", "paraphrase-MiniLM-L6-v2")
try:
    encoder = SentenceEncoder(model_dir)
except (OSError, ValueError) as e:
    encoder = None
    print(f"method 3 skipped: {e}")
if encoder is not None:
    sentences = [template.format(**r) for r in df.to_dict("records")]
    emb, s = timed(encoder.encode, sentences)
    record("encode sentences", f"{emb.shape[0]} x {emb.shape[1]} ({emb.shape[0] / s:.0f}/s)", s)
    emb_in = emb[ECOD().fit(emb).labels_ == 0]
    km_e = KMeans(n_clusters=5, n_init=10, random_state=42)
    e_labels, s = timed(km_e.fit_predict, emb_in)
    record("KMeans k=5 on embeddings", f"silhouette {silhouette_score(emb_in, e_labels):.4f}", s)

# %% [markdown]
# ## Summary

# %%
summary = pd.DataFrame(rows, columns=["step", "segmenta s", "reference s", "segmenta", "reference"])
print(summary.to_string(index=False))
