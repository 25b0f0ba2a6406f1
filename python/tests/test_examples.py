"""The blog example runs (on bank.csv, without the original libraries) and its
notebook is built from it."""

import os
import subprocess
import sys

from conftest import REPO


def test_blog_example_runs(shared):
    env = dict(os.environ, SEGMENTA_DATA=str(shared / "data" / "bank.csv"), SEGMENTA_REFERENCES="0",
               SEGMENTA_MODEL=str(shared / "golden" / "bert" / "tiny-bert-random"))
    out = subprocess.run([sys.executable, str(REPO / "examples" / "blog.py")], env=env, check=True,
                         capture_output=True, text=True).stdout
    for step in ("ECOD", "KMeans k=5", "KPrototypes k=5", "encode sentences", "KMeans k=5 on embeddings"):
        assert step in out, out


def test_notebook_is_built_from_the_script():
    subprocess.run([sys.executable, str(REPO / "examples" / "make_notebook.py"), "--check"], check=True)
