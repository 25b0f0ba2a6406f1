#!/usr/bin/env bash
# The explanation on ranks: two builds of segmenta (a reference, e.g. one where rank 0
# explains alone, and a candidate), alternating, each as one process and on 2 ranks
# of one machine. Per run: the wall time, rank 0's explain stage (metrics.json
# "timings"), the surrogate's fit and TreeSHAP seconds, and on 2 ranks the bytes each
# rank received while segmenting (the "mpi" diagnostic). Every run's explanation (its
# seconds left out), segments.csv and model.json are compared with the first run's.
#   bench/mpi/explain_ranks.sh REF_SEGMENTA NEW_SEGMENTA DATA OUT_DIR ROUNDS [run flags...]
#   bench/mpi/explain_ranks.sh main/segmenta build/default/segmenta bank1m.csv /tmp/ex 1 --method kmeans --threads 1
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
  python3 - "$1" "$2" "$3" "$out/${first:-none}" <<'PY'
import json, os, sys
label, d, wall_file, first = sys.argv[1:]
m = json.load(open(os.path.join(d, "metrics.json")))
wall = open(wall_file).read().split()[0]
ex = {name: b.get("explanation") for name, b in m["methods"].items()}
name = next(iter(ex))
e = ex[name]
line = f"{label}: wall {wall} s, explain {m['timings'].get('explain', float('nan')):.2f} s " \
       f"(fit {e['fit_seconds']:.2f} s, TreeSHAP {e['shap_seconds']:.2f} s), total {m['timings']['total']:.2f} s"
for diag in m.get("diagnostics", []):
    if diag.get("stage") == "mpi":
        line += "\n    " + diag["message"].split("while segmenting, ")[-1]
print(line)
def stable(x):
    if isinstance(x, dict):
        return {k: stable(v) for k, v in x.items() if "seconds" not in k}
    return x
if os.path.isdir(first):
    f = json.load(open(os.path.join(first, "metrics.json")))
    same = stable({n: b.get("explanation") for n, b in f["methods"].items()}) == stable(ex)
    print("    explanation", "identical to the first run's" if same else "DIFFERS from the first run's")
PY
  if [[ -n "$first" ]]; then
    cmp -s "$out/$first/segments.csv" "$2/segments.csv" && cmp -s "$out/$first/model.json" "$2/model.json" &&
      echo "    segments.csv and model.json identical to the first run's" ||
      echo "    segments.csv or model.json DIFFERS from the first run's"
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
echo "== $(uptime)"
