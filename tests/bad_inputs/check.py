"""Runs one case of the bad-input catalogue (cases.txt), or all of them.

    check.py SEGMENTA SOURCE_DIR SHARED_DIR WORK_DIR [CASE...]

A case is `name | exit code | message fragment | arguments`. The arguments are
split on blanks after replacing {in} (the inputs folder), {out} (an output path
that must not exist afterwards unless the case succeeds), {model} (a model.json
fitted once), {folders} (damaged model folders) and {work} (the case's folder).
The case passes when segmenta exits with the code, its standard error (standard
output for a success) holds the fragment, and, for a failure, the error is one line
that names no function or other internal name, and neither {out} nor any temporary
(*.tmp-*) is left in the case's folder.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_inputs  # noqa: E402

HUGE_LINE_MB = int(os.environ.get("SEGMENTA_HUGE_LINE_MB", "1024"))

# What an error must not show a user: a function call (`name(`), a snake_case name of a
# function or internal parameter heading the message or a part of it (`fit_ecod: `; the
# command line names flags as --flag), a C++ qualified name, or the JSON library's tag.
INTERNAL_NAMES = re.compile(r"\b[a-z_][a-z0-9_]*\(|(^|: )[a-z]+_[a-z0-9_]+: |\w::\w|\[json\.exception")


def internal_names(message):
    """The internal names an error message shows, [] when it shows none."""
    return [m.group(0) for m in INTERNAL_NAMES.finditer(message)]


def read_cases(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|", 3)]
            if len(parts) != 4:
                raise SystemExit(f"cases.txt: malformed line: {line}")
            cases.append({"name": parts[0], "exit": int(parts[1]), "fragment": parts[2], "args": parts[3]})
    return cases


def fitted_model(segmenta, work):
    """model.json of a quick k-means run on the good table (made once per work folder,
    and again when the binary is newer than it: a model file of an older build may
    have another format)."""
    path = os.path.join(work, "fit", "model.json")
    if os.path.exists(path) and os.path.getmtime(path) < os.path.getmtime(segmenta):
        shutil.rmtree(os.path.join(work, "fit"))
    if not os.path.exists(path):
        os.makedirs(work, exist_ok=True)
        good = os.path.join(work, "fit_good.csv")
        with open(good, "wb") as f:
            f.write(make_inputs.good())
        subprocess.run([segmenta, "run", good, "--method", "kmeans", "--k", "2", "--quiet", "--no-report", "--no-maps", "--no-explain",
                        "--out", os.path.join(work, "fit")], check=True, capture_output=True)
    with open(path, "rb") as f:
        return f.read()


def leftovers(folder):
    found = []
    for root, dirs, files in os.walk(folder):
        for n in dirs + files:
            if ".tmp-" in n:
                found.append(os.path.join(root, n))
    return found


def run_case(case, segmenta, shared, work):
    folder = os.path.join(work, case["name"])
    shutil.rmtree(folder, ignore_errors=True)
    inputs = os.path.join(folder, "in")
    folders = os.path.join(folder, "folders")
    os.makedirs(inputs)
    args = case["args"]
    for name in set(re.findall(r"\{in\}/([A-Za-z0-9_.]+)", args)):
        path = os.path.join(inputs, name)
        if name == "huge_line.csv":
            make_inputs.make_huge_line(path, HUGE_LINE_MB)
        elif name in make_inputs.MODEL_INPUTS:
            with open(path, "wb") as f:
                f.write(make_inputs.MODEL_INPUTS[name](fitted_model(segmenta, os.path.join(work, "_fixture"))))
        elif name in make_inputs.INPUTS:  # other names stand for files that do not exist
            with open(path, "wb") as f:
                f.write(make_inputs.INPUTS[name]())
    for name in set(re.findall(r"\{folders\}/([A-Za-z0-9_.]+)", args)):
        make_inputs.make_folder(os.path.join(folders, name), name,
                                os.path.join(shared, "models", "paraphrase-MiniLM-L6-v2"))
    model = os.path.join(work, "_fixture", "fit", "model.json")
    if "{model}" in args:
        fitted_model(segmenta, os.path.join(work, "_fixture"))
    out = os.path.join(folder, "out")
    argv = [a.replace("{in}", inputs).replace("{out}", out).replace("{model}", model)
            .replace("{folders}", folders).replace("{work}", folder) for a in args.split()]
    env = dict(os.environ, SEGMENTA_MODELS=os.path.join(folder, "no-models"), XDG_CACHE_HOME=os.path.join(folder, "cache"))
    start = time.monotonic()
    r = subprocess.run([segmenta] + argv, capture_output=True, env=env, cwd=folder, timeout=600)
    seconds = time.monotonic() - start
    err = r.stderr.decode("utf-8", "replace")
    text = err if case["exit"] != 0 else r.stdout.decode("utf-8", "replace") + err
    problems = []
    if r.returncode != case["exit"]:
        problems.append(f"exit code {r.returncode}, expected {case['exit']}")
    if case["fragment"] not in text:
        problems.append(f"the output lacks '{case['fragment']}'")
    if case["exit"] != 0:
        # Only the inputs may remain: no output, no half-written file, no demo data.
        for entry in sorted(os.listdir(folder)):
            if entry not in ("in", "folders", "cache"):
                problems.append(f"{os.path.join(folder, entry)} was left behind")
        if err.count("\n") != 1 or not err.startswith("segmenta: error: "):
            problems.append("the error is not one 'segmenta: error: ' line")
        names = internal_names(err.strip()[len("segmenta: error: "):])
        if names:
            problems.append("the error names something internal: " + ", ".join(names))
    left = leftovers(folder)
    if left:
        problems.append("temporaries left behind: " + ", ".join(left))
    print(f"{case['name']}: exit {r.returncode} in {seconds:.2f}s: {err.strip()[:300]}")
    if "huge_line.csv" in args:
        os.remove(os.path.join(inputs, "huge_line.csv"))
    return problems


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    segmenta, source, shared, work = (os.path.abspath(a) for a in sys.argv[1:5])
    wanted = sys.argv[5:]
    cases = read_cases(os.path.join(source, "tests", "bad_inputs", "cases.txt"))
    names = [c["name"] for c in cases]
    if len(set(names)) != len(names):
        raise SystemExit("cases.txt: a case name appears twice")
    failed = 0
    for case in cases:
        if wanted and case["name"] not in wanted:
            continue
        problems = run_case(case, segmenta, shared, work)
        for p in problems:
            print(f"  FAIL {case['name']}: {p}")
        failed += bool(problems)
    if wanted and not any(c["name"] in wanted for c in cases):
        raise SystemExit(f"no case named {' '.join(wanted)}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
