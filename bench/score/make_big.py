#!/usr/bin/env python3
"""Writes a large customer table for the scoring benchmark: the rows of bank-full.csv,
each pass over them in a new order (seeded shuffle), until N data rows. The values
are the training table's (the blog preset ordinal-encodes every column, so a value
the run never saw could not be scored). Same delimiter and quoting as the source.

Usage: make_big.py SOURCE.csv OUT.csv N     (OUT ending in .gz: gzip-compressed)
"""
import gzip
import random
import sys


def main():
    source, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(source, encoding="utf-8") as f:
        header = f.readline()
        rows = [line for line in f if line.strip()]
    rng = random.Random(16)
    opener = gzip.open if out.endswith(".gz") else open
    with opener(out, "wt", encoding="utf-8", newline="") as g:
        g.write(header)
        written = 0
        while written < n:
            order = rows[:]
            rng.shuffle(order)
            take = order[: n - written]
            g.writelines(take)
            written += len(take)


if __name__ == "__main__":
    main()
