#!/usr/bin/env bash
# Times `segmenta run` on 1, 2 and 3 ranks of one machine: wall time and peak memory
# of every rank (/usr/bin/time around each rank), the stage times of rank 0's summary,
# and every rank's CPU time and bytes received while segmenting (metrics.json's "mpi"
# diagnostic). One process without mpirun is timed first, with the same --threads;
# segments.csv and model.json of every rank count are compared with its (cmp).
#   bench/mpi/ranks.sh SEGMENTA DATA OUT_DIR [run flags...]
#   bench/mpi/ranks.sh build/default/segmenta ../shared/data/bank-full.csv /tmp/ranks \
#     --preset blog --method kmeans --k 5 --threads 1
#   bench/mpi/ranks.sh build/default/segmenta bank10x.csv /tmp/ranks --threads 1                        # lca
#   bench/mpi/ranks.sh build/default/segmenta bank10x.csv /tmp/ranks --method kprototypes --threads 1
set -euo pipefail
seg=$1
data=$2
out=$3
shift 3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$out"
mkdir -p "$out"
fmt='%e s wall, %U s user, %S s sys, %M KB peak'
echo "== $(uptime)"
echo "== one process (no mpirun): $seg run $data $*"
/usr/bin/time -f "rank -: $fmt" "$seg" run "$data" --out "$out/one" "$@" 2>&1 | grep -E '^(rank|time|segments)'
for n in 1 2 3; do
  echo "== mpirun --oversubscribe -np $n"
  # Each rank's time goes to its own file: lines written by several ranks at once
  # to one pipe can interleave.
  mpirun --oversubscribe -np "$n" bash -c 'exec /usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f "rank $OMPI_COMM_WORLD_RANK: '"$fmt"'" "$@"' \
    "$out/time$n" "$seg" run "$data" --out "$out/np$n" "$@" 2>&1 | grep -E '^(time|segments)' || true
  cat "$out/time$n".*
  python3 - "$out/np$n/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for d in m.get("diagnostics", []):
    if d.get("stage") == "mpi":
        print("mpi:", d["message"])
PY
  cmp "$out/one/segments.csv" "$out/np$n/segments.csv" && cmp "$out/one/model.json" "$out/np$n/model.json" &&
    echo "segments.csv and model.json identical to one process"
  echo "== $(uptime)"
done
