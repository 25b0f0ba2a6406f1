#!/usr/bin/env python3
"""Writes bank-full repeated R times with seeded jitter on age and balance.

The copies are not identical rows (which would make every distance computation
collapse onto duplicates): each copy after the first moves age by a uniform integer
in -2..2 (kept in 18..95) and balance by a normal draw of 5 % of its absolute value
plus 20, rounded to whole units. Everything else is copied as is.

    bench/scale/make_bank_repeat.py ../shared/data/bank-full.csv bank10x.csv --times 10 --seed 1
"""
import argparse
import csv
import random
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--times", type=int, default=10, help="copies of the source rows (the first unchanged)")
    ap.add_argument("--rows", type=int, default=0, help="stop after this many data rows (0 = times x source)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    with open(a.source, newline="") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader)
        rows = list(reader)
    age, balance = header.index("age"), header.index("balance")
    rng = random.Random(a.seed)
    limit = a.rows or a.times * len(rows)
    written = 0
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f, delimiter=";", quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        f.write(";".join('"%s"' % h for h in header) + "\n")
        copy = 0
        while written < limit:
            for r in rows:
                if written >= limit:
                    break
                out = list(r)
                if copy > 0:
                    out[age] = str(min(95, max(18, int(r[age]) + rng.randint(-2, 2))))
                    b = int(r[balance])
                    out[balance] = str(int(round(b + rng.gauss(0.0, 0.05 * abs(b) + 20.0))))
                # numbers unquoted, text quoted, as in the source file
                f.write(";".join(v if v.lstrip("-").isdigit() else '"%s"' % v for v in out) + "\n")
                written += 1
            copy += 1
    print(f"{a.out}: {written} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
