#!/usr/bin/env bash
# The maps stage on one process and on 2 ranks, two builds alternating (a reference
# binary, e.g. before the maps were shared, and the one measured): for each run the
# whole wall time, rank 0's stage times (the summary's `time` line) and every rank's
# CPU time and bytes received (metrics.json's "mpi" diagnostic); maps.csv, segments.csv
# and model.json of every run are compared (sha256) with the reference's one-process run.
#   bench/mpi/maps_ranks.sh REFERENCE_SEGMENTA SEGMENTA DATA OUT_DIR [run flags...]
#   bench/mpi/maps_ranks.sh /tmp/main/segmenta build/default/segmenta bank1m.csv /tmp/maps --threads 1
set -euo pipefail
ref=$1
seg=$2
data=$3
out=$4
shift 4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$out"
mkdir -p "$out"
one() {  # one LABEL BINARY RANKS
  local label=$1 bin=$2 ranks=$3 dir="$out/$1"
  shift 3
  echo "== $label ($bin, $([[ $ranks -eq 1 ]] && echo "one process" || echo "$ranks ranks")): $(uptime)"
  local start end
  start=$(date +%s.%N)
  if [[ $ranks -eq 1 ]]; then
    "$bin" run "$data" --out "$dir" "$@" > "$dir.txt" 2>&1
  else
    mpirun --oversubscribe -np "$ranks" "$bin" run "$data" --out "$dir" "$@" > "$dir.txt" 2>&1
  fi
  end=$(date +%s.%N)
  echo "wall $(python3 -c "print(f'{$end - $start:.2f}')") s"
  grep -E '^time' "$dir.txt" || true
  python3 - "$dir/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for d in m.get("diagnostics", []):
    if d.get("stage") == "mpi":
        print("mpi:", d["message"])
PY
  # Only the outputs' hashes are kept (1 M rows of maps.csv are ~150 MB).
  (cd "$dir" && sha256sum maps.csv segments.csv model.json > "$out/$label.sha256")
  find "$dir" -type f ! -name metrics.json -delete
  for f in maps.csv segments.csv model.json; do
    [[ $label == ref1 ]] && continue
    [[ $(grep " $f\$" "$out/ref1.sha256") == $(grep " $f\$" "$out/$label.sha256") ]] &&
      echo "$f identical to the reference's one process" || echo "$f DIFFERS"
  done
}
one ref1 "$ref" 1 "$@"
one new1 "$seg" 1 "$@"
one ref2 "$ref" 2 "$@"
one new2 "$seg" 2 "$@"
echo "== done: $(uptime)"
