#!/usr/bin/env bash
# Driver of the browser test of report.html (ctest: browser.report).
#   tests/browser/report_test.sh SEGMENTA OUTPUT_DIR
# Runs the demo (whose run writes report.html) and a small table whose column names
# and values are markup (its report regenerated with `segmenta report`), and opens
# both reports in headless chromium (report_test.mjs). Screenshots are kept in
# OUTPUT_DIR.
set -euo pipefail
segmenta=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "report_test: node not found (run scripts/setup)" >&2; exit 1; }

work="$out/browser"
rm -rf "$work"
mkdir -p "$work"

"$segmenta" demo --rows 3000 --out "$work/demo" --quiet
test -f "$work/demo/report.html" || { echo "report_test: segmenta demo wrote no report.html" >&2; exit 1; }

# Markup in a column name, in category levels and in identifiers must stay text.
awk 'BEGIN {
  print "customer_id,age,balance,</script><img src=x onerror=window.__hostile=1>";
  split("<b>bold</b>|plain|x&y <!-- <script>", level, "|");
  for (i = 0; i < 300; i++)
    printf "<i>c%d</i>,%d,%d,%s\n", i, 20 + (i * 7) % 50, (i * 37) % 900 - 100, level[1 + i % 3];
}' > "$work/hostile.csv"
"$segmenta" run "$work/hostile.csv" --k 3 --out "$work/hostile" --quiet --no-report
"$segmenta" report "$work/hostile"

node "$here/report_test.mjs" --screenshots "$out" \
  "$work/demo/report.html" --hostile "$work/hostile/report.html"
