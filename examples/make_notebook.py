#!/usr/bin/env python3
"""Builds examples/blog.ipynb from examples/blog.py (cells start at '# %%'; a
'# %% [markdown]' cell is Markdown written as '# ' comments).

  make_notebook.py           writes blog.ipynb
  make_notebook.py --check   exits 1 when blog.ipynb differs from what blog.py gives
"""

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def cells(source):
    out, kind, lines = [], None, []

    def flush():
        if kind is None:
            return
        while lines and not lines[-1].strip():
            lines.pop()
        text = [l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines] if kind == "markdown" else lines
        body = [l + "\n" for l in text]
        if body:
            body[-1] = body[-1].rstrip("\n")
        cell = {"cell_type": kind, "metadata": {}, "source": body}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        out.append(cell)

    for line in source.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return out


def notebook(source):
    nb = {
        "cells": cells(source),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for i, c in enumerate(nb["cells"]):
        c["id"] = f"cell-{i}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main():
    text = notebook((HERE / "blog.py").read_text(encoding="utf-8"))
    target = HERE / "blog.ipynb"
    if "--check" in sys.argv[1:]:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print("examples/blog.ipynb is not built from examples/blog.py; run examples/make_notebook.py")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
