#!/usr/bin/env bash
# `mpirun -np 3 segmenta run` against one process on the same data:
#  1. the blog's run (bank-full, --preset blog --method kmeans --k 5): segments.csv,
#     model.json and maps.csv (PCA, its passes over the rows shared) byte for byte;
#  2. a k sweep on bank.csv (k = 2..10 chosen by the criteria): the same;
#  3. on bank.csv, a default run (the latent-class model, its EM on the ranks' row
#     blocks, explanation and maps included) and a --method kprototypes run (the
#     restarts on the ranks): the same;
#     The default run's maps.csv, profiles.csv and metrics.json (its timings and the
#     mpi diagnostic left out) too: the outlier scores, the silhouettes, the
#     stability fits, the maps' projections (FAMD, MCA) and the explanation (in
#     metrics.json; the blog run's is compared too) are shared by the ranks; and
#     report.html's maps (each rank keeps its rows' coordinates, rank 0 fetches the
#     sampled points);
#  3a. bank.csv, --method lca on its categorical columns only: the same files and
#     metrics.json (each rank keeps its own rows' posterior);
#  3b. bank.csv with a sampled sweep and estimated silhouettes (--sweep-all-max 2000
#     --silhouette-exact-max 1000): every output, on 3 ranks of 1 and of 2 threads;
#  3c. bank.csv, --method kprototypes --kproto-batch with a sampled sweep: the final
#     fit's batch passes shared by the ranks' rows; every output and metrics.json;
#  4. an invalid UTF-8 byte in the last rank's part of the file: every rank fails, the
#     launcher exits 3, segmenta prints the single-process message once, and no output
#     directory is left.
#  5. writing fails on rank 0 while the ranks share segments.csv's rows (a file-size
#     limit on rank 0 alone), and after them (a directory named segments.csv in the
#     output directory, found at the commit): every rank exits 4 (no rank waits for
#     another), segmenta prints one line, the one process's, and the output
#     directory is as it was (no staging directory left).
# Usage: run_test.sh SEGMENTA MPIRUN SHARED_DIR OUTPUT_DIR [PART]
# PART (default all) runs one group of the cases, so that ctest can run the groups
# side by side: blog (1), lca (3, 3a, 3b), other (2, the kprototypes runs of 3 and
# 3c, 4, 5).
set -euo pipefail
seg=$1
mpirun=$2
shared=$3
out=$4
part=${5:-all}
source "$(dirname "$0")/common.sh"
want() { [[ $part == all || $part == "$1" ]]; }
full="$shared/data/bank-full.csv"
small="$shared/data/bank.csv"

# metrics.json without what may differ between runs: timings (every "seconds" and
# the timings object) and the mpi diagnostic (the ranks' CPU and traffic).
same_metrics() {  # same_metrics DIR_A DIR_B
  python3 - "$1/metrics.json" "$2/metrics.json" <<'PY'
import json, sys
def stable(path):
    m = json.load(open(path))
    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items() if k != "timings" and "seconds" not in k}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x
    m = walk(m)
    m["diagnostics"] = [d for d in m.get("diagnostics", []) if d.get("stage") != "mpi"]
    return m
a, b = stable(sys.argv[1]), stable(sys.argv[2])
if a != b:
    for k in a:
        if a.get(k) != b.get(k):
            print("FAIL: metrics.json differs in", k, file=sys.stderr)
    sys.exit(1)
PY
}

# The report's maps (the sampled points and their coordinates, which rank 0 fetches
# from the ranks that hold them) in report.html's data element.
same_report_maps() {  # same_report_maps DIR_A DIR_B
  python3 - "$1/report.html" "$2/report.html" <<'PY'
import json, sys
def maps(path):
    html = open(path, encoding="utf-8").read()
    tag = '<script type="application/json" id="segmenta-data">'
    begin = html.index(tag) + len(tag)
    m = json.loads(html[begin:html.index("</script>", begin)])["maps"]
    def walk(x):  # without t-SNE's "seconds"
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items() if "seconds" not in k}
        return [walk(v) for v in x] if isinstance(x, list) else x
    return walk(m)
a, b = maps(sys.argv[1]), maps(sys.argv[2])
if not a or a != b:
    print("FAIL: the report's maps differ (or there are none)", file=sys.stderr)
    sys.exit(1)
PY
}

if want blog; then
echo "== bank-full, blog preset, kmeans, k = 5"
"$seg" run "$full" --preset blog --method kmeans --k 5 --out "$out/one" --quiet
"${mpi[@]}" "$seg" run "$full" --preset blog --method kmeans --k 5 --out "$out/three" --quiet --threads 1
same segments.csv "$out/one" "$out/three"
same model.json "$out/one" "$out/three"
same maps.csv "$out/one" "$out/three"  # the standardised PCA, its rows' passes on the ranks
grep -q '"mpi"' "$out/three/metrics.json" || { echo "FAIL: metrics.json of the 3-rank run does not say so" >&2; exit 1; }
# The explanation (metrics.json's "explanation": the surrogate's accuracy, mean |SHAP|,
# importances) is computed on the ranks.
grep -q '"explanation"' "$out/one/metrics.json" || { echo "FAIL: one/metrics.json has no explanation" >&2; exit 1; }
same_metrics "$out/one" "$out/three"
same_report_maps "$out/one" "$out/three"  # the blog's PCA and t-SNE on bank-full's 11 blocks
fi

if want lca; then
echo "== bank.csv, default run (lca, k swept)"
"$seg" run "$small" --out "$out/lca_one" --quiet
"${mpi[@]}" "$seg" run "$small" --out "$out/lca_three" --quiet --threads 1
for f in segments.csv model.json maps.csv profiles.csv; do same $f "$out/lca_one" "$out/lca_three"; done
same_metrics "$out/lca_one" "$out/lca_three"
same_report_maps "$out/lca_one" "$out/lca_three"  # FAMD, MCA and t-SNE, each rank holding its rows
# The explanation (metrics.json's "explanation") is computed on the ranks.
grep -q '"explanation"' "$out/lca_one/metrics.json" || { echo "FAIL: lca_one/metrics.json has no explanation" >&2; exit 1; }

echo "== bank.csv, lca on categorical columns only"
# Each rank keeps its own rows' posterior: segments.csv's probabilities (gathered per
# row) as one process's (the default run above compares metrics.json's classes, the
# posterior-weighted sums folded along the ranks: no numeric column here).
cat_only=(--method lca --columns job,marital,education,default,housing,loan,contact,month,poutcome --quiet --no-explain)
"$seg" run "$small" --out "$out/cat_one" "${cat_only[@]}"
"${mpi[@]}" "$seg" run "$small" --out "$out/cat_three" "${cat_only[@]}" --threads 1
for f in segments.csv model.json maps.csv profiles.csv; do same $f "$out/cat_one" "$out/cat_three"; done
same_metrics "$out/cat_one" "$out/cat_three"
head -1 "$out/cat_three/segments.csv" | grep -q ',probability,' ||
  { echo "FAIL: the lca run's segments.csv has no probability column" >&2; exit 1; }

echo "== bank.csv, lca, sampled sweep, estimated silhouettes, 1 and 2 threads a rank"
sampled=(--sweep-all-max 2000 --silhouette-exact-max 1000 --quiet)
"$seg" run "$small" --out "$out/est_one" "${sampled[@]}"
grep -q silhouette_estimated "$out/est_one/metrics.json" ||
  { echo "FAIL: the sampled run did not estimate the silhouette" >&2; exit 1; }
for t in 1 2; do
  "${mpi[@]}" "$seg" run "$small" --out "$out/est_three_$t" "${sampled[@]}" --threads $t
  for f in segments.csv model.json maps.csv profiles.csv; do same $f "$out/est_one" "$out/est_three_$t"; done
  same_metrics "$out/est_one" "$out/est_three_$t"
  same_report_maps "$out/est_one" "$out/est_three_$t"
done

fi

if want other; then
echo "== bank.csv, kmeans, k swept"
"$seg" run "$small" --method kmeans --out "$out/sweep_one" --quiet --no-explain --no-maps
"${mpi[@]}" "$seg" run "$small" --method kmeans --out "$out/sweep_three" --quiet --no-explain --no-maps --threads 1
same segments.csv "$out/sweep_one" "$out/sweep_three"
same model.json "$out/sweep_one" "$out/sweep_three"

echo "== bank.csv, kprototypes, k swept"
"$seg" run "$small" --method kprototypes --out "$out/kp_one" --quiet --no-explain --no-maps
"${mpi[@]}" "$seg" run "$small" --method kprototypes --out "$out/kp_three" --quiet --no-explain --no-maps --threads 1
same segments.csv "$out/kp_one" "$out/kp_three"
same model.json "$out/kp_one" "$out/kp_three"

echo "== bank.csv, batch kprototypes, sampled sweep (the final fit's passes on the ranks)"
kpb=(--method kprototypes --kproto-batch --k 2..5 --sweep-all-max 2000 --sweep-sample 2000 --quiet --no-explain)
"$seg" run "$small" "${kpb[@]}" --out "$out/kpb_one"
"${mpi[@]}" "$seg" run "$small" "${kpb[@]}" --out "$out/kpb_three" --threads 1
for f in segments.csv model.json maps.csv profiles.csv; do same $f "$out/kpb_one" "$out/kpb_three"; done
same_metrics "$out/kpb_one" "$out/kpb_three"

echo "== an invalid byte in the last rank's part"
bad="$out/bad.csv"
# Line 40000 of bank-full (of 45212) lies in the last third: its first byte becomes 0xff.
awk 'NR == 40000 { printf "\xff" } { print }' "$full" > "$bad"
set +e
"$seg" run "$bad" --preset blog --method kmeans --k 5 --out "$out/bad_one" --quiet 2> "$out/bad_one.err"
one_rc=$?
"${mpi[@]}" "$seg" run "$bad" --preset blog --method kmeans --k 5 --out "$out/bad_three" --quiet 2> "$out/bad_three.err"
three_rc=$?
set -e
cat "$out/bad_three.err"
[[ $one_rc -eq 3 ]] || { echo "FAIL: one process exited $one_rc, not 3" >&2; exit 1; }
[[ $three_rc -eq 3 ]] || { echo "FAIL: mpirun exited $three_rc, not 3" >&2; exit 1; }
expected=$(cat "$out/bad_one.err")
[[ "$expected" == "segmenta: error: $bad:40000:1: invalid UTF-8 byte sequence" ]] ||
  { echo "FAIL: unexpected single-process message: $expected" >&2; exit 1; }
lines=$(grep -c '^segmenta:' "$out/bad_three.err" || true)
[[ $lines -eq 1 ]] || { echo "FAIL: $lines lines from segmenta under mpirun, not 1" >&2; exit 1; }
grep -qxF "$expected" "$out/bad_three.err" || { echo "FAIL: the 3-rank message differs from one process's" >&2; exit 1; }
for d in bad_one bad_three; do
  if [[ -e "$out/$d" ]] || compgen -G "$out/$d.tmp-*" > /dev/null; then
    echo "FAIL: $d left output behind" >&2
    exit 1
  fi
done
echo "== writing fails on rank 0"
# Each rank runs under a wrapper that records its exit status; `limit` (KiB) limits
# the size of the files rank 0 writes (a write past it fails: SIGXFSZ is ignored).
ranks_exit() {  # ranks_exit NAME LIMIT ARGS...: runs 3 ranks, every rank's status in $out/NAME.rc.RANK
  local name=$1 limit=$2
  shift 2
  local wrap='r=$OMPI_COMM_WORLD_RANK; if [[ $r == 0 && $1 != - ]]; then ulimit -f "$1"; trap "" XFSZ; fi
    "${@:3}"; echo $? > "$2.rc.$r"'
  timeout 300 "${mpi[@]}" bash -c "$wrap" _ "$limit" "$out/$name" "$@" 2> "$out/$name.err" ||
    { echo "FAIL: $name: mpirun failed or timed out ($?)" >&2; cat "$out/$name.err" >&2; exit 1; }
  for r in 0 1 2; do
    [[ $(cat "$out/$name.rc.$r") == 4 ]] || { echo "FAIL: $name: rank $r exited $(cat "$out/$name.rc.$r"), not 4" >&2; exit 1; }
  done
  [[ $(grep -c '^segmenta:' "$out/$name.err") -eq 1 ]] || { echo "FAIL: $name: not one line from segmenta" >&2; exit 1; }
}
blog=(--preset blog --method kmeans --k 5 --quiet --threads 1)
set +e
(ulimit -f 200; trap "" XFSZ; "$seg" run "$full" "${blog[@]}" --out "$out/limit_one" 2> "$out/limit_one.err")
one_rc=$?
set -e
[[ $one_rc -eq 4 ]] || { echo "FAIL: one process with a file-size limit exited $one_rc, not 4" >&2; exit 1; }
ranks_exit limit_three 200 "$seg" run "$full" "${blog[@]}" --out "$out/limit_three"
grep -qx "segmenta: error: $out/limit_three/segments.csv: write failed: File too large" "$out/limit_three.err" ||
  { echo "FAIL: the 3-rank message is not the one process's" >&2; cat "$out/limit_one.err" "$out/limit_three.err" >&2; exit 1; }
mkdir -p "$out/in_the_way/segments.csv"
ranks_exit in_the_way - "$seg" run "$full" "${blog[@]}" --out "$out/in_the_way"
grep -qx "segmenta: error: $out/in_the_way/segments.csv: cannot replace a directory with an output file" \
  "$out/in_the_way.err" || { echo "FAIL: unexpected message for a directory in the way" >&2; exit 1; }
[[ $(find "$out/in_the_way" | wc -l) -eq 2 ]] || { echo "FAIL: the output directory changed" >&2; exit 1; }
for d in limit_one limit_three in_the_way; do
  if compgen -G "$out/$d.tmp-*" > /dev/null || { [[ $d != in_the_way ]] && [[ -e "$out/$d" ]]; }; then
    echo "FAIL: $d left output behind" >&2
    exit 1
  fi
done
fi
echo "OK"
