#!/usr/bin/env bash
# Times the writing of a run's outputs, two binaries alternating (one process, then
# 2 ranks, each binary in turn, `rounds` times): run.json's "write" timing (rank
# 0's), the whole wall (/usr/bin/time), the bytes of rows rank 0 received
# (metrics.json's mpi `write` diagnostic) and cmp of segments.csv and maps.csv
# against the first binary's one-process files.
#   bench/mpi/write.sh OLD_SEGMENTA NEW_SEGMENTA DATA OUT_DIR ROUNDS [run flags...]
#   bench/mpi/write.sh main/segmenta build/default/segmenta bank1m.csv /tmp/w 2 --threads 1
set -euo pipefail
old=$1
new=$2
data=$3
out=$4
rounds=$5
shift 5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
rm -rf "$out"
mkdir -p "$out"
report() {  # report LABEL DIR
  python3 - "$1" "$2" <<'PY'
import json, sys
label, d = sys.argv[1], sys.argv[2]
run = json.load(open(d + "/run.json"))
m = json.load(open(d + "/metrics.json"))
t = run["timings"]
note = ""
for x in m.get("diagnostics", []):
    if x.get("stage") == "mpi" and x.get("code") == "write":
        note = x["message"]
print(f"{label}: write {t.get('write', 0):.3f} s, total {t['total']:.1f} s; {note}")
PY
}
for ((i = 1; i <= rounds; i++)); do
  echo "== round $i: $(uptime)"
  for b in old new; do
    bin=${!b}
    rm -rf "$out/$b.one" "$out/$b.two"
    /usr/bin/time -f "$b one process: %e s wall" "$bin" run "$data" --out "$out/$b.one" --quiet "$@"
    report "$b one process" "$out/$b.one"
    /usr/bin/time -f "$b 2 ranks: %e s wall" mpirun --oversubscribe -np 2 "$bin" run "$data" --out "$out/$b.two" --quiet "$@"
    report "$b 2 ranks" "$out/$b.two"
    for f in segments.csv maps.csv; do
      for d in one two; do cmp "$out/old.one/$f" "$out/$b.$d/$f"; done
    done
  done
  echo "segments.csv and maps.csv identical to the old one-process files"
done
echo "== $(uptime)"
