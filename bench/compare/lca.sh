#!/usr/bin/env bash
# The latent-class fit on bank-full's blog columns, segmenta beside the numpy reference
# EM (tools/lca_reference.py bench: the same model, guards, k-means++ starts and
# short-EM selection; its own random draws), alternating segmenta, numpy, segmenta so
# that both sides see the same load; each side's timing lines and the load average
# before each run are printed. The numpy side runs with one BLAS thread: under a load
# of many runnable processes per core OpenBLAS's waiting threads stalled it (16
# minutes for 15 s of CPU).
#   bench/compare/lca.sh [build/release/segmenta] [../shared/data/bank-full.csv]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/release/segmenta}
data=${2:-../shared/data/bank-full.csv}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
TIMEFORMAT='wall %Rs, user %Us, sys %Ss'
run_segmenta() {
  echo "== segmenta ($bin, 2 threads): run --preset blog --method lca --k 2..9 --n-init 10; $(uptime)"
  rm -rf "$out/run"
  time "$bin" run "$data" --preset blog --method lca --k 2..9 --n-init 10 --threads 2 --no-explain --no-maps \
    --no-report --quiet --out "$out/run"
  /usr/bin/python3 -c "import json, sys; t = json.load(open(sys.argv[1]))['timings']; print('stages (s):', {k: round(v, 2) for k, v in t.items()})" "$out/run/metrics.json"
}
run_segmenta
echo "== numpy reference (all rows, no outlier step, OPENBLAS_NUM_THREADS=1): tools/lca_reference.py bench --k 2..9 --n-init 10; $(uptime)"
time OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/lca_reference.py bench "$data" --k 2..9 --n-init 10 | tail -1
run_segmenta
echo "== end; $(uptime)"
