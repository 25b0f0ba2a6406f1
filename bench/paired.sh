#!/usr/bin/env bash
# Times two commands side by side: one warm-up run of each, then N rounds in which
# A and B run one after the other (the order alternating by round), so that both see
# the same machine load. Prints each side's median wall time and the ratio B/A.
#   bench/paired.sh N "COMMAND A" "COMMAND B"
set -euo pipefail
if [[ $# -ne 3 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bench/paired.sh N \"COMMAND A\" \"COMMAND B\"" >&2
  exit 2
fi
n=$1
a=$2
b=$3
one() {  # seconds of wall time of one run of "$1" (its output discarded)
  local t0 t1
  t0=$(date +%s.%N)
  bash -c "$1" >/dev/null 2>&1 || { echo "paired: command failed: $1" >&2; exit 1; }
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f\n", b - a}'
}
one "$a" >/dev/null
one "$b" >/dev/null
ta=()
tb=()
for ((i = 0; i < n; i++)); do
  if ((i % 2 == 0)); then
    ta+=("$(one "$a")"); tb+=("$(one "$b")")
  else
    tb+=("$(one "$b")"); ta+=("$(one "$a")")
  fi
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ma=$(median "${ta[@]}")
mb=$(median "${tb[@]}")
printf 'A: median %.3f s over %d runs\nB: median %.3f s over %d runs\nB/A: %.3f\n' "$ma" "$n" "$mb" "$n" "$(awk -v a="$ma" -v b="$mb" 'BEGIN {print b / a}')"
