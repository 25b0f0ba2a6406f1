#!/usr/bin/env python3
"""Writes a large customer table for the scoring benchmark: the rows of bank-full.csv
repeated until N data rows, with the numeric columns age, balance, day, duration,
campaign, pdays and previous shifted a little on each pass, so that the rows are not
copies of the training rows. Same delimiter and quoting as the source (';').

Usage: make_big.py SOURCE.csv OUT.csv N     (OUT ending in .gz: gzip-compressed)
"""
import gzip
import sys


def main():
    source, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(source, encoding="utf-8") as f:
        header = f.readline()
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    names = [h.strip('"') for h in header.rstrip("\n").split(";")]
    shift = {names.index(c): d for c, d in
             [("age", 1), ("balance", 37), ("day", 1), ("duration", 5), ("campaign", 1), ("pdays", 3), ("previous", 1)]}
    opener = gzip.open if out.endswith(".gz") else open
    with opener(out, "wt", encoding="utf-8", newline="") as g:
        g.write(header)
        written, rep = 0, 0
        while written < n:
            for r in rows:
                if written >= n:
                    break
                if rep:
                    r = list(r)
                    for j, d in shift.items():
                        v = int(r[j]) + (rep * d) % 7 - 3
                        r[j] = str(v)
                g.write(";".join(r) + "\n")
                written += 1
            rep += 1


if __name__ == "__main__":
    main()
