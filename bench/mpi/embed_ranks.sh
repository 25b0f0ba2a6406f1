#!/usr/bin/env bash
# The embed method's encoder on one process and on 2 ranks of one machine, alternating
# in each round: one process --threads 1, one process --threads 2, then
# `mpirun -np 2 ... --threads 1`. Prints each process's wall and CPU time and peak
# memory (/usr/bin/time around every rank), the encode call's seconds
# (metrics.json: embedding.encoder_seconds, tokenising and the gather included) and,
# for the ranks, each rank's sentences and seconds on its batches and the bytes rank 0
# received; segments.csv and model.json of the ranks are compared with one process's.
#   bench/mpi/embed_ranks.sh SEGMENTA DATA MODEL OUT_DIR ROUNDS [run flags...]
#   head -n 4001 ../shared/data/bank-full.csv > /tmp/bank4k.csv
#   build/default/tests/mpi_embed_tool model /tmp/minilm-random ../shared/models/paraphrase-MiniLM-L6-v2
#   bench/mpi/embed_ranks.sh build/default/segmenta /tmp/bank4k.csv /tmp/minilm-random /tmp/er 2
set -euo pipefail
seg=$1
data=$2
model=$3
out=$4
rounds=$5
shift 5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$out"
mkdir -p "$out"
flags=(--preset blog --method embed --k 5 --model "$model" --no-cache --no-maps --no-explain --quiet "$@")
report() {  # report LABEL DIR
  python3 - "$1" "$2/metrics.json" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
def find(j):
    if isinstance(j, dict):
        if isinstance(j.get("embedding"), dict) and "encoded" in j["embedding"]:
            return j["embedding"]
        j = list(j.values())
    if isinstance(j, list):
        for v in j:
            e = find(v)
            if e: return e
e = find(json.load(open(path)))
line = f"  {label}: encoder {e['encoder_seconds']:.2f} s, {e['encoded']} sentences"
for r in e.get("ranks", []):
    line += f"; rank {r['rank']}: {r['encoded']} in {r['encoder_seconds']:.2f} s"
print(line)
for d in json.load(open(path)).get("diagnostics", []):
    if d.get("stage") == "embed" and d.get("code") == "ranks":
        print("  ", d["message"])
PY
}
fmt='%e s wall, %U s user, %S s sys, %M KB peak'
echo "== $(uptime)"
for ((i = 1; i <= rounds; i++)); do
  for t in 1 2; do
    /usr/bin/time -f "one process, $t thread(s): $fmt" -o "$out/time" "$seg" run "$data" "${flags[@]}" --threads "$t" \
      --out "$out/t$t-$i"
    cat "$out/time"
    report "one process, $t thread(s)" "$out/t$t-$i"
  done
  mpirun --oversubscribe -np 2 bash -c 'exec /usr/bin/time -f "rank $OMPI_COMM_WORLD_RANK: '"$fmt"'" "$@"' _ \
    "$seg" run "$data" "${flags[@]}" --threads 1 --out "$out/np2-$i" > "$out/np2-$i.log" 2>&1
  grep "^rank" "$out/np2-$i.log" | sort
  report "2 ranks, 1 thread each" "$out/np2-$i"
  for f in segments.csv model.json; do
    cmp "$out/t1-$i/$f" "$out/np2-$i/$f"
    cmp "$out/t1-$i/$f" "$out/t2-$i/$f"
  done
  echo "== round $i: segments.csv and model.json identical; $(uptime)"
done
