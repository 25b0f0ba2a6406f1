#!/usr/bin/env python3
"""Compare the outputs of two `segmenta run` directories, timings aside.

segments.csv, model.json, maps.csv and profiles.csv must be equal byte for byte;
metrics.json and the data embedded in report.html are compared as JSON with the
timings, start times, command lines and output paths removed. Prints every
difference (path, left, right) and exits 1 if there is one.

    bench/compare/same_outputs.py /tmp/native /tmp/portable
"""
import json
import re
import sys
from pathlib import Path

VOLATILE = {"timings", "started", "finished", "command_line", "out", "out_dir", "output_dir", "cwd"}


def volatile(key):
    return key in VOLATILE or key.endswith("seconds")


def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if volatile(k):
                continue
            if k not in a or k not in b:
                out.append((f"{path}/{k}", "present" if k in a else "-", "present" if k in b else "-"))
            else:
                walk(a[k], b[k], f"{path}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append((path, f"{len(a)} items", f"{len(b)} items"))
        for i, (u, v) in enumerate(zip(a, b)):
            walk(u, v, f"{path}[{i}]", out)
    elif a != b:
        out.append((path, a, b))


def report_data(path):
    text = path.read_text()
    m = re.search(r'<script type="application/json" id="segmenta-data">(.*?)</script>', text, re.S)
    return json.loads(m.group(1)) if m else None


def main():
    left, right = Path(sys.argv[1]), Path(sys.argv[2])
    diffs = []
    for name in ("segments.csv", "model.json", "maps.csv", "profiles.csv"):
        a, b = left / name, right / name
        if a.exists() or b.exists():
            if not (a.exists() and b.exists()) or a.read_bytes() != b.read_bytes():
                diffs.append((name, "differs", ""))
    walk(json.loads((left / "metrics.json").read_text()), json.loads((right / "metrics.json").read_text()),
         "metrics.json", diffs)
    if (left / "report.html").exists():
        walk(report_data(left / "report.html"), report_data(right / "report.html"), "report.html", diffs)
    for d in diffs:
        print(*d)
    print("same" if not diffs else f"{len(diffs)} differences")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
