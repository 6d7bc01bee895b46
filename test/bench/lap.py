#!/usr/bin/python3
"""Side of test/bench/lap.sh that runs in Debian's /usr/bin/python3 (numpy
and python3-scipy).

  lap.py gen DIR SPEC...          writes DIR/lap_SPEC.npy and DIR/lap_SPEC.txt
                                  (the same matrix as a PostgreSQL float8[]
                                  literal)
  lap.py check DIR SPEC RUNS PGOUT
                                  times scipy.optimize.linear_sum_assignment
                                  (maximize=True) on DIR/lap_SPEC.npy, checks
                                  the answer repairsys wrote to PGOUT (every row
                                  served, no column over its capacity, the total
                                  equal to scipy's to 1e-9 relative) and prints
                                  both medians, their ratio and a SUMMARY line
                                  for test/bench/run.sh.

SPEC is N (an N x N matrix, capacities 1: the target of DESIGN 15) or NcK
(N rows, N/K columns of capacity K; scipy solves the same problem with each
column repeated K times, so N x N).  Scores uniform in [0, 1), numpy's
default generator seeded with 20261201 + N + K.  Text is written with
repr(), which PostgreSQL's float8 input reads back to the same double.
"""
import statistics
import sys
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

TARGET = 1.5


def parse(spec):
    n, _, k = spec.partition("c")
    return int(n), int(k or 1)


def gen(d, specs):
    for spec in specs:
        n, k = parse(spec)
        m = np.random.default_rng(20261201 + n + (k if k > 1 else 0)).random((n, n // k))
        np.save(f"{d}/lap_{spec}.npy", m)
        with open(f"{d}/lap_{spec}.txt", "w") as f:
            f.write("{")
            f.write(",".join("{" + ",".join(map(repr, row)) + "}" for row in m.tolist()))
            f.write("}")


def check(d, spec, runs, pgout):
    n, k = parse(spec)
    m = np.load(f"{d}/lap_{spec}.npy")
    ncols = m.shape[1]
    pg_ms, answer = None, None
    with open(pgout) as f:
        for line in f:
            key, _, val = line.rstrip("\n").partition("|")
            if key == "ms":
                pg_ms = [float(x) for x in val.split()]
            elif key == "answer":
                answer = np.array([int(x) - 1 for x in val.split()])
    ok = (answer is not None and len(answer) == n and answer.min() >= 0 and answer.max() < ncols
          and np.bincount(answer, minlength=ncols).max() <= k)
    pg_total = float(m[np.arange(n), answer].sum()) if ok else float("nan")

    slots = np.repeat(m, k, axis=1) if k > 1 else m  # column j becomes slots j*k .. j*k+k-1
    linear_sum_assignment(slots, maximize=True)  # warm-up
    sp_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r, c = linear_sum_assignment(slots, maximize=True)
        sp_ms.append((time.perf_counter() - t0) * 1000)
    sp_total = float(slots[r, c].sum())
    exact = ok and abs(pg_total - sp_total) <= 1e-9 * abs(sp_total)
    pg_med, sp_med = statistics.median(pg_ms), statistics.median(sp_ms)
    ratio = pg_med / sp_med
    name = f"{n}x{n}" if k == 1 else f"{n}x{ncols} capacity {k} (scipy: {n}x{n} slots)"
    print(f"{name}: repairsys.assignment_solve median {pg_med:.1f} ms (runs {' '.join(f'{x:.1f}' for x in pg_ms)}), "
          f"scipy linear_sum_assignment median {sp_med:.1f} ms (runs {' '.join(f'{x:.1f}' for x in sp_ms)}): "
          f"ratio {ratio:.2f}")
    print(f"{name}: totals repairsys {pg_total:.12f}, scipy {sp_total:.12f}: "
          f"{'equal to 1e-9 relative' if exact else 'DIFFERENT (or not a permutation)'}")
    if k == 1:
        target, met = f"<= {TARGET}x", "yes" if exact and ratio <= TARGET else "NO"
    else:
        target, met = "report", "-" if exact else "NO"
    print(f"SUMMARY|lap|assignment_solve / scipy linear_sum_assignment, {name} (medians of {runs}, same matrix, equal optimum)"
          f"|{ratio:.2f}x ({pg_med:.0f} vs {sp_med:.0f} ms){'' if exact else ', TOTALS DIFFER'}|{target}|{met}")
    return 0 if exact else 1


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(check(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
