#!/usr/bin/env bash
# Two builds of segmenta side by side (a reference, e.g. before a stage moved to the
# ranks, and the one measured), alternating, each as one process and on 2 ranks of
# one machine, `rounds` times. Per run: the wall time (/usr/bin/time), rank 0's stage
# times (metrics.json "timings", run.json's "write"), the explanation's fit and
# TreeSHAP seconds when there is one, and on 2 ranks the "mpi" diagnostics (every
# rank's CPU time and bytes received while segmenting; the bytes of rows rank 0
# received while writing). segments.csv, model.json, maps.csv and profiles.csv of
# every run are compared (cmp) with the first run's.
#   bench/mpi/stages.sh REF_SEGMENTA SEGMENTA DATA OUT_DIR ROUNDS [run flags...]
#   bench/mpi/stages.sh old/segmenta build/default/segmenta bank1m.csv out 1 --method kmeans --threads 1
# (bank1m.csv: bench/scale/make_bank_repeat.py, docs/PERFORMANCE.md "Large tables".)
set -euo pipefail
ref=$1
new=$2
data=$3
out=$4
rounds=$5
shift 5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$out"
mkdir -p "$out"
first=""
report() {  # report LABEL DIR WALL_FILE
  python3 - "$@" <<'PY'
import json, os, sys
label, d, wall_file = sys.argv[1:]
m = json.load(open(os.path.join(d, "metrics.json")))
r = json.load(open(os.path.join(d, "run.json")))
wall = open(wall_file).read().split()[0]
t = dict(m["timings"])
if "write" in r.get("timings", {}):
    t["write"] = r["timings"]["write"]
print(f"{label}: wall {wall} s; " + ", ".join(f"{k} {v:.2f}" for k, v in t.items()))
for name, b in m["methods"].items():
    e = b.get("explanation")
    if e:
        print(f"    explanation of {name}: fit {e['fit_seconds']:.2f} s, TreeSHAP {e['shap_seconds']:.2f} s")
for diag in m.get("diagnostics", []):
    if diag.get("stage") == "mpi":
        print("    mpi:", diag["message"].split("while segmenting, ")[-1])
PY
  if [[ -n "$first" ]]; then
    for f in segments.csv model.json maps.csv profiles.csv; do
      [[ -e "$out/$first/$f" ]] || continue
      cmp -s "$out/$first/$f" "$2/$f" || echo "    $f DIFFERS from the first run's"
    done
  fi
}
for r in $(seq 1 "$rounds"); do
  for build in ref new; do
    seg=$ref
    [[ $build == new ]] && seg=$new
    echo "== round $r, $build, one process: $(uptime)"
    /usr/bin/time -o "$out/$build$r-one.wall" -f "%e" "$seg" run "$data" --out "$out/$build$r-one" --quiet "$@"
    report "$build one process" "$out/$build$r-one" "$out/$build$r-one.wall"
    [[ -z "$first" ]] && first="$build$r-one"
    echo "== round $r, $build, 2 ranks: $(uptime)"
    /usr/bin/time -o "$out/$build$r-two.wall" -f "%e" mpirun --oversubscribe -np 2 "$seg" run "$data" \
      --out "$out/$build$r-two" --quiet "$@"
    report "$build 2 ranks" "$out/$build$r-two" "$out/$build$r-two.wall"
  done
done
echo "== every run's outputs were compared with the first's (a line above names any that differs)"
echo "== $(uptime)"
