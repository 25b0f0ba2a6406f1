#!/usr/bin/env bash
# `mpirun -np 3 segmenta run` against one process on the same data:
#  1. the blog's run (bank-full, --preset blog --method kmeans --k 5): segments.csv and
#     model.json byte for byte;
#  2. a k sweep on bank.csv (k = 2..10 chosen by the criteria): the same;
#  3. on bank.csv, a default run (the latent-class model, its EM on the ranks' row
#     blocks, explanation and maps included) and a --method kprototypes run (the
#     restarts on the ranks): the same;
#  4. an invalid UTF-8 byte in the last rank's part of the file: every rank fails, the
#     launcher exits 3, segmenta prints the single-process message once, and no output
#     directory is left.
# Usage: run_test.sh SEGMENTA MPIRUN SHARED_DIR OUTPUT_DIR
set -euo pipefail
seg=$1
mpirun=$2
shared=$3
out=$4
rm -rf "$out"
mkdir -p "$out"
# The CI runs as root, which Open MPI refuses unless told; shared memory without
# cross-memory attach (not allowed in containers).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=("$mpirun" --oversubscribe -np 3)

same() {  # same FILE DIR_A DIR_B
  if ! cmp "$2/$1" "$3/$1"; then
    echo "FAIL: $1 differs between one process and 3 ranks" >&2
    diff <(head -c 2000 "$2/$1") <(head -c 2000 "$3/$1") >&2 || true
    exit 1
  fi
}

echo "== bank-full, blog preset, kmeans, k = 5"
full="$shared/data/bank-full.csv"
"$seg" run "$full" --preset blog --method kmeans --k 5 --out "$out/one" --quiet
"${mpi[@]}" "$seg" run "$full" --preset blog --method kmeans --k 5 --out "$out/three" --quiet --threads 1
same segments.csv "$out/one" "$out/three"
same model.json "$out/one" "$out/three"
grep -q '"mpi"' "$out/three/metrics.json" || { echo "FAIL: metrics.json of the 3-rank run does not say so" >&2; exit 1; }

echo "== bank.csv, kmeans, k swept"
small="$shared/data/bank.csv"
"$seg" run "$small" --method kmeans --out "$out/sweep_one" --quiet --no-explain --no-maps
"${mpi[@]}" "$seg" run "$small" --method kmeans --out "$out/sweep_three" --quiet --no-explain --no-maps --threads 1
same segments.csv "$out/sweep_one" "$out/sweep_three"
same model.json "$out/sweep_one" "$out/sweep_three"

echo "== bank.csv, default run (lca, k swept)"
"$seg" run "$small" --out "$out/lca_one" --quiet
"${mpi[@]}" "$seg" run "$small" --out "$out/lca_three" --quiet --threads 1
same segments.csv "$out/lca_one" "$out/lca_three"
same model.json "$out/lca_one" "$out/lca_three"

echo "== bank.csv, kprototypes, k swept"
"$seg" run "$small" --method kprototypes --out "$out/kp_one" --quiet --no-explain --no-maps
"${mpi[@]}" "$seg" run "$small" --method kprototypes --out "$out/kp_three" --quiet --no-explain --no-maps --threads 1
same segments.csv "$out/kp_one" "$out/kp_three"
same model.json "$out/kp_one" "$out/kp_three"

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
echo "OK"
