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
#     segmenta prints the single-process message once, and no output is left;
#  4. `segmenta embed` on 3 ranks against one process: the .npy (fp32, int8) and .csv
#     (int8) files byte for byte, the summary printed once, the shares of the batches named in
#     it, and the cache of part 2 read by every rank (nothing encoded);
#  5. `segmenta embed` given bad input (a missing file, a template naming a column the
#     file lacks, standard input) on 3 ranks: one process's message, once, and its exit
#     code, and no output file; the other commands are still refused on 3 ranks (exit 2);
#  6. a model named by its hub id (tests/cli/hub_server.py, an empty hub cache) on 3
#     ranks: the weights are downloaded once (rank 0 looks first, and the cache's lock
#     would also keep ranks looking at once from downloading twice), and the vectors
#     are those of the same model read from its folder.
# Usage: embed_test.sh SEGMENTA MPIRUN EMBED_TOOL SHARED_DIR OUTPUT_DIR
set -euo pipefail
seg=$1
mpirun=$2
tool=$3
shared=$4
out=$5
source "$(dirname "$0")/common.sh"

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
echo "== segmenta embed: one process, then 3 ranks"
eflags=(--preset blog --model "$model" --batch-size "$batch")
for precision in fp32 int8; do
  "$seg" embed "$data" "${eflags[@]}" --precision "$precision" --no-cache --quiet --out "$out/embed-$precision-one.npy"
  "${mpi[@]}" "$seg" embed "$data" "${eflags[@]}" --precision "$precision" --no-cache --threads 1 \
    --out "$out/embed-$precision-three.npy" > "$out/embed-$precision-three.txt"
  cat "$out/embed-$precision-three.txt"
  cmp "$out/embed-$precision-one.npy" "$out/embed-$precision-three.npy" ||
    { echo "FAIL: embed $precision: the 3 ranks' vectors differ from one process's" >&2; exit 1; }
  # 360 rows of 384 float32 after the .npy header.
  size=$(stat -c %s "$out/embed-$precision-three.npy")
  (( size > 360 * 384 * 4 && size <= 360 * 384 * 4 + 256 )) || { echo "FAIL: embed $precision: $size bytes" >&2; exit 1; }
  lines=$(grep -c '^embedded ' "$out/embed-$precision-three.txt" || true)
  [[ $lines -eq 1 ]] || { echo "FAIL: embed $precision: $lines summaries under mpirun, not 1" >&2; exit 1; }
  grep -q '^ranks     3 ranks encoded their shares of the batches: [1-9][0-9]* in ' "$out/embed-$precision-three.txt" ||
    { echo "FAIL: embed $precision: no per-rank shares in the summary" >&2; exit 1; }
done
"$seg" embed "$data" "${eflags[@]}" --precision int8 --no-cache --quiet --out "$out/embed-one.csv"
"${mpi[@]}" "$seg" embed "$data" "${eflags[@]}" --precision int8 --no-cache --quiet --threads 1 --out "$out/embed-three.csv"
cmp "$out/embed-one.csv" "$out/embed-three.csv" || { echo "FAIL: embed .csv differs on 3 ranks" >&2; exit 1; }
"${mpi[@]}" "$seg" embed "$data" "${eflags[@]}" --cache "$out/cache" --threads 1 --out "$out/embed-cached.npy" \
  > "$out/embed-cached.txt"
grep -q ' 0 encoded,' "$out/embed-cached.txt" || { echo "FAIL: embed on 3 ranks encoded despite the cache" >&2; exit 1; }
cmp "$out/embed-fp32-one.npy" "$out/embed-cached.npy" || { echo "FAIL: embed from the cache differs" >&2; exit 1; }

echo "== segmenta embed given bad input, one process and 3 ranks"
expect_same_failure() {  # NAME RC MESSAGE_PATTERN ARGS...: one process and 3 ranks fail alike
  local name=$1 rc=$2 pattern=$3
  shift 3
  set +e
  "$seg" embed "$@" --out "$out/$name-one.npy" 2> "$out/$name-one.err"
  local one_rc=$?
  "${mpi[@]}" "$seg" embed "$@" --threads 1 --out "$out/$name-one.npy" 2> "$out/$name-three.err"
  local three_rc=$?
  set -e
  cat "$out/$name-three.err"
  [[ $one_rc -eq $rc ]] || { echo "FAIL: $name: one process exited $one_rc, not $rc" >&2; exit 1; }
  [[ $three_rc -eq $rc ]] || { echo "FAIL: $name: mpirun exited $three_rc, not $rc" >&2; exit 1; }
  local expected
  expected=$(cat "$out/$name-one.err")
  [[ "$expected" == segmenta:\ error:\ $pattern ]] || { echo "FAIL: $name: unexpected message: $expected" >&2; exit 1; }
  local n
  n=$(grep -c '^segmenta:' "$out/$name-three.err" || true)
  [[ $n -eq 1 ]] || { echo "FAIL: $name: $n lines from segmenta under mpirun, not 1" >&2; exit 1; }
  grep -qxF "$expected" "$out/$name-three.err" || { echo "FAIL: $name: the 3-rank message differs" >&2; exit 1; }
  if [[ -e "$out/$name-one.npy" ]] || compgen -G "$out/$name-one.npy.tmp-*" > /dev/null; then
    echo "FAIL: $name left output behind" >&2
    exit 1
  fi
}
expect_same_failure missing 4 "$out/missing.csv: cannot open: No such file or directory" \
  "$out/missing.csv" "${eflags[@]}" --no-cache
expect_same_failure template 2 "*nosuchcolumn*" "$data" "${eflags[@]}" --no-cache --template 'Age {nosuchcolumn}'
set +e
"${mpi[@]}" "$seg" embed - "${eflags[@]}" --no-cache --out "$out/stdin.npy" < "$data" 2> "$out/stdin.err"
rc=$?
"${mpi[@]}" "$seg" map "$data" --out "$out/map.csv" 2> "$out/map.err"
map_rc=$?
set -e
cat "$out/stdin.err" "$out/map.err"
[[ $rc -eq 2 && ! -e "$out/stdin.npy" ]] || { echo "FAIL: standard input on 3 ranks: exit $rc, not 2" >&2; exit 1; }
grep -qxF 'segmenta: error: DATA: standard input cannot be read by several ranks (mpirun); give a file' "$out/stdin.err" ||
  { echo "FAIL: standard input on 3 ranks: unexpected message" >&2; exit 1; }
[[ $map_rc -eq 2 && ! -e "$out/map.csv" ]] || { echo "FAIL: map on 3 ranks: exit $map_rc, not 2" >&2; exit 1; }
grep -q 'only `segmenta run` and `segmenta embed` run on several ranks' "$out/map.err" ||
  { echo "FAIL: map on 3 ranks: unexpected message" >&2; exit 1; }

echo "== a model named by its hub id: rank 0 downloads it once, the others read the cache"
hub_log="$out/hub.log"
: > "$hub_log"
python3 "$(dirname "$0")/../cli/hub_server.py" "$model" org/minilm-random 0123456789abcdef0123456789abcdef01234567 \
  --log "$hub_log" > "$out/hub.port" &
hub_pid=$!
trap 'kill $hub_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [[ -s "$out/hub.port" ]] && break; sleep 0.1; done
port=$(head -n 1 "$out/hub.port")
[[ -n "$port" ]] || { echo "FAIL: the hub server did not start" >&2; exit 1; }
HF_HUB_OFFLINE= HF_TOKEN= HF_ENDPOINT="http://127.0.0.1:$port" HF_HUB_CACHE="$out/hub-cache" \
  "${mpi[@]}" "$seg" embed "$data" --preset blog --model org/minilm-random --precision int8 --batch-size "$batch" \
  --no-cache --quiet --threads 1 --out "$out/hub.npy"
kill $hub_pid 2>/dev/null || true
weights=$(grep -c '^GET /cdn/' "$hub_log" || true)
[[ $weights -eq 1 ]] || { echo "FAIL: the weights were downloaded $weights times by 3 ranks, not once" >&2; cat "$hub_log" >&2; exit 1; }
cmp "$out/hub.npy" "$out/embed-int8-one.npy" || { echo "FAIL: the model from the hub gave other vectors" >&2; exit 1; }
echo "OK"
