#!/usr/bin/env bash
# Scoring at scale: the blog's k-means model scores a table of N rows made from
# bank-full.csv (bench/score/make_big.py), CSV in, CSV out, on 2 threads; peak memory
# from /usr/bin/time -v. Run with a second binary (an older build) to time both, in
# turn, on the same files.
#   bench/score/bench.sh NEW_SEGMENTA [OLD_SEGMENTA] [ROWS=1000000] [WORK_DIR=/tmp/segmenta-score-bench]
set -euo pipefail
new=$1
old=${2:-}
rows=${3:-1000000}
work=${4:-/tmp/segmenta-score-bench}
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../../../shared/data/bank-full.csv
mkdir -p "$work"
[[ -f $work/big.csv ]] || /usr/bin/python3 "$here/make_big.py" "$data" "$work/big.csv" "$rows"
[[ -f $work/big.csv.gz ]] || /usr/bin/python3 "$here/make_big.py" "$data" "$work/big.csv.gz" "$rows"
"$new" run "$data" --preset blog --method kmeans --quiet --no-explain --no-maps --no-report --out "$work/blog"
measure() {  # label, command...
  local label=$1
  shift
  /usr/bin/time -v "$@" 2>"$work/time.txt" >/dev/null || { cat "$work/time.txt"; exit 1; }
  local wall rss cpu
  wall=$(grep "Elapsed (wall clock)" "$work/time.txt" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$work/time.txt" | awk '{print $NF}')
  cpu=$(grep -E "User time|System time" "$work/time.txt" | awk '{s += $NF} END {print s}')
  echo "$label: wall $wall, cpu ${cpu}s, peak RSS $((rss / 1024)) MiB"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2 3; do
  measure "new csv->csv" "$new" score "$work/blog/model.json" "$work/big.csv" --out "$work/new.csv" --threads 2
  [[ -n $old ]] && measure "old csv->csv" "$old" score "$work/blog/model.json" "$work/big.csv" --out "$work/old.csv" --threads 2
done
[[ -n $old ]] && cmp "$work/new.csv" "$work/old.csv" && echo "outputs identical"
measure "new csv.gz->csv.gz" "$new" score "$work/blog/model.json" "$work/big.csv.gz" --out "$work/new.csv.gz" --threads 2
measure "new stdin->stdout" sh -c "'$new' score '$work/blog/model.json' - --out - --threads 2 < '$work/big.csv' > '$work/stdout.csv'"
cmp "$work/new.csv" "$work/stdout.csv" && echo "stdout identical"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
