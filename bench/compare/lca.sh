#!/usr/bin/env bash
# The latent-class fit on bank-full's blog columns, segmenta beside the numpy reference
# EM (tools/lca_reference.py bench: the same model, guards, k-means++ starts and
# short-EM selection; its own random draws). Prints each side's timing lines.
#   bench/compare/lca.sh [build/release/segmenta] [../shared/data/bank-full.csv]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-build/release/segmenta}
data=${2:-../shared/data/bank-full.csv}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== segmenta ($bin, 2 threads): run --preset blog --method lca --k 2..9"
TIMEFORMAT='wall %Rs, user %Us, sys %Ss'
time "$bin" run "$data" --preset blog --method lca --k 2..9 --threads 2 --out "$out/run" | grep -E '^(segments|time)'
echo "== numpy reference (all rows, no outlier step): tools/lca_reference.py bench --k 2..9 --n-init 10"
time /usr/bin/python3 tools/lca_reference.py bench "$data" --k 2..9 --n-init 10
