#!/usr/bin/env bash
# The embed method under `mpirun -np 3 segmenta run` against one process, on the first
# 360 customers of bank.csv (blog preset) with a random-weight model at the shapes of
# paraphrase-MiniLM-L6-v2 (the real weights are not part of the repository):
#  1. fp32 and int8: segments.csv and model.json byte for byte, metrics.json equal apart
#     from timings and what only several ranks record; each rank encoded its share of
#     the batches (the embedding's "ranks": counts adding up to the sentences encoded,
#     each within a batch of a third);
#  2. the embedding cache: a 3-rank run writes it (one file, the same vectors as one
#     process writes), a second 3-rank run reads every vector from it and encodes none,
#     with the same outputs;
#  3. a cache directory that cannot be made: every rank fails, the launcher exits 4,
#     segmenta prints the single-process message once, and no output is left.
# Usage: embed_test.sh SEGMENTA MPIRUN EMBED_TOOL SHARED_DIR OUTPUT_DIR
set -euo pipefail
seg=$1
mpirun=$2
tool=$3
shared=$4
out=$5
rm -rf "$out"
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=("$mpirun" --oversubscribe -np 3)

same() {  # same FILE DIR_A DIR_B
  if ! cmp "$2/$1" "$3/$1"; then
    echo "FAIL: $1 differs between $2 and $3" >&2
    diff <(head -c 2000 "$2/$1") <(head -c 2000 "$3/$1") >&2 || true
    exit 1
  fi
}

model="$out/model"
"$tool" model "$model" "$shared/models/paraphrase-MiniLM-L6-v2"
data="$out/bank360.csv"
head -n 361 "$shared/data/bank.csv" > "$data"
batch=16  # 23 batches: 7, 8 and 8 of them on the ranks
flags=(--preset blog --method embed --model "$model" --batch-size "$batch" --no-maps --quiet)

for precision in fp32 int8; do
  echo "== $precision: one process, then 3 ranks"
  "$seg" run "$data" "${flags[@]}" --precision "$precision" --no-cache --out "$out/$precision-one"
  "${mpi[@]}" "$seg" run "$data" "${flags[@]}" --precision "$precision" --no-cache --threads 1 --out "$out/$precision-three"
  same segments.csv "$out/$precision-one" "$out/$precision-three"
  same model.json "$out/$precision-one" "$out/$precision-three"
  "$tool" same-metrics "$out/$precision-one/metrics.json" "$out/$precision-three/metrics.json"
  "$tool" shares "$out/$precision-three/metrics.json" 3 "$batch"
done

echo "== the cache: written by 3 ranks, then read by 3 ranks"
"$seg" run "$data" "${flags[@]}" --cache "$out/cache-one" --out "$out/cache-one-run"
"${mpi[@]}" "$seg" run "$data" "${flags[@]}" --cache "$out/cache" --threads 1 --out "$out/cache-write"
files=("$out"/cache/*)
[[ ${#files[@]} -eq 1 ]] || { echo "FAIL: ${#files[@]} cache files, not 1" >&2; exit 1; }
cmp "$out"/cache-one/* "${files[0]}" || { echo "FAIL: the 3 ranks' cache differs from one process's" >&2; exit 1; }
"$tool" shares "$out/cache-write/metrics.json" 3 "$batch"
"${mpi[@]}" "$seg" run "$data" "${flags[@]}" --cache "$out/cache" --threads 1 --out "$out/cache-read"
"$tool" shares "$out/cache-read/metrics.json" 3 "$batch" cached
for f in segments.csv model.json; do
  same "$f" "$out/fp32-one" "$out/cache-write"
  same "$f" "$out/fp32-one" "$out/cache-read"
done

echo "== a cache directory that cannot be made"
touch "$out/not-a-dir"
set +e
"$seg" run "$data" "${flags[@]}" --cache "$out/not-a-dir/cache" --out "$out/bad-one" 2> "$out/bad-one.err"
one_rc=$?
"${mpi[@]}" "$seg" run "$data" "${flags[@]}" --cache "$out/not-a-dir/cache" --threads 1 --out "$out/bad-three" 2> "$out/bad-three.err"
three_rc=$?
set -e
cat "$out/bad-three.err"
[[ $one_rc -eq 4 ]] || { echo "FAIL: one process exited $one_rc, not 4" >&2; exit 1; }
[[ $three_rc -eq 4 ]] || { echo "FAIL: mpirun exited $three_rc, not 4" >&2; exit 1; }
expected=$(cat "$out/bad-one.err")
[[ "$expected" == "segmenta: error: embed: cannot create the cache directory $out/not-a-dir/cache" ]] ||
  { echo "FAIL: unexpected single-process message: $expected" >&2; exit 1; }
lines=$(grep -c '^segmenta:' "$out/bad-three.err" || true)
[[ $lines -eq 1 ]] || { echo "FAIL: $lines lines from segmenta under mpirun, not 1" >&2; exit 1; }
grep -qxF "$expected" "$out/bad-three.err" || { echo "FAIL: the 3-rank message differs from one process's" >&2; exit 1; }
for d in bad-one bad-three; do
  if [[ -e "$out/$d" ]] || compgen -G "$out/$d.tmp-*" > /dev/null; then
    echo "FAIL: $d left output behind" >&2
    exit 1
  fi
done
echo "OK"
