#!/usr/bin/env python3
"""Quality benchmark of repairsys.route_solve (called by test/bench/route.sh).

Runs route_solve through psql on each instance, re-checks every route here,
independently of the solver (windows, capacity, depot window, each customer
once, at most `vehicles` routes, the reported times, the distance), and
prints per instance: distance, reference, ratio, vehicles used, seconds.

Instances:
  - exact/*: small generated instances (6 to 10 customers, fixed seeds;
    tight windows with 3 vehicles, and wide windows with 2 vehicles, which
    cannot always serve everyone) whose
    optimum this script computes exactly (all elementary routes by a labelled
    search with dominance, then the best partition of the customers into at
    most `vehicles` routes by subset dynamic programming);
  - gen100/*: generated 100-customer instances in the style of Solomon's R1,
    C1, RC1 and R2 classes.  No best-known distance exists for them; the
    reference is the construction (time_limit_ms 0), so the ratio shows what
    the search adds, not a gap to the literature;
  - solomon/*: Solomon's instances, when their files are in
    test/bench/solomon/ (none is shipped: see docs/performance.md), with the
    best-known distances given in solomon/bks.txt.
Usage: route.py [--limit-ms N] [--only exact|gen100|solomon]
"""
import glob
import math
import os
import random
import subprocess
import sys
import time


def dist(inst, i, j):
    dx = inst["x"][i] - inst["x"][j]
    dy = inst["y"][i] - inst["y"][j]
    return math.sqrt(dx * dx + dy * dy)


def generate(seed, ncust, kind):
    """A random instance: kind r (random points), c (clusters), rc (both);
    tight windows (width 10..60) or, with kind ending in 2, wide ones."""
    rnd = random.Random(seed)
    wide = kind.endswith("2")
    kind = kind.rstrip("2")
    horizon = 1000.0 if wide else 230.0
    x, y = [50.0], [50.0]
    centres = [(rnd.uniform(10, 90), rnd.uniform(10, 90)) for _ in range(8)]
    for k in range(ncust):
        if kind == "c" or (kind == "rc" and k % 2 == 0):
            cx, cy = rnd.choice(centres)
            x.append(round(min(100, max(0, rnd.gauss(cx, 5))), 1))
            y.append(round(min(100, max(0, rnd.gauss(cy, 5))), 1))
        else:
            x.append(float(rnd.randint(0, 100)))
            y.append(float(rnd.randint(0, 100)))
    inst = {"x": x, "y": y, "demand": [0.0], "ready": [0.0], "due": [horizon], "service": [0.0]}
    for i in range(1, ncust + 1):
        d0 = math.hypot(x[i] - 50.0, y[i] - 50.0)
        svc = 10.0
        lo, hi = math.ceil(d0), math.floor(horizon - svc - d0) - 1
        centre = rnd.uniform(lo, hi)
        half = rnd.uniform(100, 300) if wide else rnd.uniform(5, 30)
        inst["ready"].append(float(max(0, math.floor(centre - half))))
        inst["due"].append(float(min(hi, math.ceil(centre + half))))
        inst["demand"].append(float(rnd.randint(1, 30)))
        inst["service"].append(svc)
    inst["capacity"] = 200.0 if ncust > 20 else 60.0
    inst["vehicles"] = 25 if ncust > 20 else 3
    return inst


def read_solomon(path):
    """Solomon's text format: a header with VEHICLE NUMBER CAPACITY, then
    CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE SERVICE TIME."""
    with open(path) as f:
        lines = [l.split() for l in f if l.strip()]
    inst = {k: [] for k in ("x", "y", "demand", "ready", "due", "service")}
    for i, l in enumerate(lines):
        if l[0] == "NUMBER" and l[1] == "CAPACITY":
            inst["vehicles"], inst["capacity"] = int(lines[i + 1][0]), float(lines[i + 1][1])
        if len(l) == 7 and all(t.replace(".", "", 1).isdigit() for t in l):
            for k, v in zip(("x", "y", "demand", "ready", "due", "service"), l[1:]):
                inst[k].append(float(v))
    return inst


def exact(inst):
    """Lexicographic optimum (most customers served, then least distance)
    by enumeration: every feasible elementary route (labels (set, last) with
    Pareto-minimal (time, distance)), then subset DP over <= vehicles routes."""
    n = len(inst["x"])
    cust = n - 1
    rd, du, sv, dm = inst["ready"], inst["due"], inst["service"], inst["demand"]
    full = 1 << cust
    route_cost = [math.inf] * full
    labels = {}
    start = rd[0] + sv[0]
    for i in range(1, n):
        arr = start + dist(inst, 0, i)
        if arr <= du[i] and dm[i] <= inst["capacity"]:
            labels.setdefault((1 << (i - 1), i), []).append((max(arr, rd[i]), dist(inst, 0, i), dm[i]))
    for mask in range(1, full):
        for last in range(1, n):
            labs = labels.get((mask, last))
            if not labs:
                continue
            for (t, d, q) in labs:
                back = t + sv[last] + dist(inst, last, 0)
                if back <= du[0]:
                    route_cost[mask] = min(route_cost[mask], d + dist(inst, last, 0))
                for j in range(1, n):
                    if mask >> (j - 1) & 1 or q + dm[j] > inst["capacity"]:
                        continue
                    arr = t + sv[last] + dist(inst, last, j)
                    if arr > du[j]:
                        continue
                    lab = (max(arr, rd[j]), d + dist(inst, last, j), q + dm[j])
                    key = (mask | 1 << (j - 1), j)
                    cur = labels.setdefault(key, [])
                    if any(o[0] <= lab[0] and o[1] <= lab[1] for o in cur):
                        continue
                    cur[:] = [o for o in cur if not (lab[0] <= o[0] and lab[1] <= o[1])] + [lab]
    route_cost[0] = 0.0
    best = route_cost[:]  # <= 1 route
    for _ in range(1, min(inst["vehicles"], cust)):
        nxt = best[:]
        for mask in range(1, full):
            low = mask & -mask
            sub = mask
            while sub:
                if sub & low and route_cost[sub] < math.inf:
                    c = route_cost[sub] + best[mask ^ sub]
                    if c < nxt[mask]:
                        nxt[mask] = c
                sub = (sub - 1) & mask
        best = nxt
    top = max((bin(m).count("1"), -best[m]) for m in range(full) if best[m] < math.inf)
    return -top[1], top[0]


def arr_sql(vals):
    return "'{" + ",".join(repr(float(v)) for v in vals) + "}'"


def solve(inst, limit_ms):
    sql = "SELECT coalesce(vehicle, -1), coalesce(seq, -1), node, coalesce(arrival, -1), coalesce(start, -1) FROM repairsys.route_solve(%s, %s, %s, %s, %s, %s, %d, %r, %d)" % (
        arr_sql(inst["x"]), arr_sql(inst["y"]), arr_sql(inst["demand"]), arr_sql(inst["ready"]),
        arr_sql(inst["due"]), arr_sql(inst["service"]), inst["vehicles"], inst["capacity"], limit_ms)
    t = time.time()
    out = subprocess.run(["psql", "-X", "-At", "-F", " ", "-v", "ON_ERROR_STOP=1", "-d", os.environ.get("RS_BENCH_DB", "postgres"), "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    secs = time.time() - t
    rows = [l.split() for l in out.splitlines() if l.strip()]
    return [(int(a), int(b), int(c), float(d), float(e)) for a, b, c, d, e in rows], secs


def check(inst, rows):
    """Independent check of a route_solve answer; returns (distance, vehicles,
    served) or raises AssertionError with the first violation."""
    n = len(inst["x"])
    rd, du, sv, dm = inst["ready"], inst["due"], inst["service"], inst["demand"]
    seen = {}
    routes = {}
    for v, s, node, a, st in rows:
        assert 1 <= node <= n, "node %d out of range" % node
        if node != 1:
            assert node not in seen, "node %d appears twice" % node
            seen[node] = v
        if v >= 0:
            routes.setdefault(v, []).append((s, node - 1, a, st))
    assert len(seen) == n - 1, "%d of %d customers returned" % (len(seen), n - 1)
    assert len(routes) <= inst["vehicles"], "%d routes for %d vehicles" % (len(routes), inst["vehicles"])
    total = 0.0
    served = 0
    for v, r in routes.items():
        r.sort()
        assert [s for s, *_ in r] == list(range(len(r))), "route %d: seq not 0..k" % v
        assert r[0][1] == 0 and r[-1][1] == 0 and len(r) >= 3, "route %d does not start and end at the depot" % v
        assert all(i != 0 for _, i, _, _ in r[1:-1]), "route %d visits the depot midway" % v
        t = rd[0]
        assert abs(r[0][3] - t) <= 1e-6, "route %d leaves at %r, not the depot's ready time" % (v, r[0][3])
        load = 0.0
        for k in range(1, len(r)):
            p, i = r[k - 1][1], r[k][1]
            arr = t + sv[p] + dist(inst, p, i)
            t = max(arr, rd[i])
            total += dist(inst, p, i)
            assert t <= du[i] + 1e-9, "route %d: node %d starts at %r after its due time %r" % (v, i + 1, t, du[i])
            assert abs(r[k][2] - arr) <= 1e-6 * max(1, arr) and abs(r[k][3] - t) <= 1e-6 * max(1, t), \
                "route %d: node %d reported arrival/start %r/%r, recomputed %r/%r" % (v, i + 1, r[k][2], r[k][3], arr, t)
            if i != 0:
                load += dm[i]
                served += 1
        assert load <= inst["capacity"] + 1e-9, "route %d carries %r > capacity %r" % (v, load, inst["capacity"])
    return total, len(routes), served


def main():
    limit = 10000
    only = None
    args = sys.argv[1:]
    while args:
        if args[0] == "--limit-ms":
            limit = int(args[1]); args = args[2:]
        elif args[0] == "--only":
            only = args[1]; args = args[2:]
        else:
            sys.exit("usage: route.py [--limit-ms N] [--only exact|gen100|solomon]")
    here = os.path.dirname(os.path.abspath(__file__))
    cases = []
    if only in (None, "exact"):
        for k in range(12):
            ncust = 6 + k % 5
            cases.append(("exact/%s%d-%d" % ("r c rc".split()[k % 3], ncust, k), generate(1000 + k, ncust, "r c rc".split()[k % 3]), "exact"))
        # wide windows, a fleet of 2: long routes, and customers left out
        for k in range(8):
            kind = ["r2", "c2", "rc2"][k % 3]
            inst = generate(3000 + k, 8 + k % 3, kind)
            inst["vehicles"] = 2
            inst["capacity"] = 150.0 if k % 2 == 0 else 60.0
            cases.append(("exact/%s-%d-%dv" % (kind, len(inst["x"]) - 1, k), inst, "exact"))
    if only in (None, "gen100"):
        for k, kind in enumerate(["r", "c", "rc", "r2"]):
            cases.append(("gen100/%s-%d" % (kind, k), generate(2000 + k, 100, kind), "construction"))
    if only in (None, "solomon"):
        bks = {}
        bpath = os.path.join(here, "solomon", "bks.txt")
        if os.path.exists(bpath):
            for l in open(bpath):
                if l.strip() and not l.startswith("#"):
                    name, val = l.split()[:2]
                    bks[name.lower()] = float(val)
        sdir = os.environ.get("RS_SOLOMON_DIR", os.path.join(here, "solomon"))
        for p in sorted(glob.glob(os.path.join(sdir, "*.txt"))):
            name = os.path.basename(p)[:-4].lower()
            if name == "bks":
                continue
            # without a distance-only reference (classes C2, R2, RC2): against the construction
            cases.append(("solomon/" + name, read_solomon(p), bks.get(name, "construction")))
    print("%-18s %6s %10s %10s %-12s %7s %4s %7s %s" % ("instance", "nodes", "distance", "reference", "(kind)", "ratio", "veh", "seconds", "check"))
    bad = 0
    ratios = []
    for name, inst, ref in cases:
        rows, secs = solve(inst, limit)
        try:
            d, veh, served = check(inst, rows)
            ok = "ok"
        except AssertionError as e:
            d, veh, served, ok = math.nan, 0, 0, "INFEASIBLE: %s" % e
            bad += 1
        kind = "literature"
        if ref == "exact":
            refd, refserved = exact(inst)
            kind = "optimum"
            if served != refserved:
                ok += " (serves %d, optimum %d)" % (served, refserved)
                bad += 1
            ref = refd
        elif ref == "construction":
            crow, _ = solve(inst, 0)
            ref = check(inst, crow)[0]
            kind = "construction"
        ratio = d / ref if ref > 0 else 1.0
        if kind != "construction":
            ratios.append(ratio)
        print("%-18s %6d %10.2f %10.2f %-12s %7.4f %4d %7.2f %s" % (name, len(inst["x"]), d, ref, kind, ratio, veh, secs, ok), flush=True)
    if ratios:
        print("against optimum/best known: %d instances, mean ratio %.4f, worst %.4f, at the optimum: %d"
              % (len(ratios), sum(ratios) / len(ratios), max(ratios), sum(1 for r in ratios if r <= 1 + 1e-9)))
    print("infeasible or short answers: %d" % bad)
    # lines for the table of test/bench/run.sh
    nexact = sum(1 for n, _, _ in cases if n.startswith("exact/"))
    nsol = sum(1 for n, _, r in cases if n.startswith("solomon/") and r != "construction")
    if nexact:
        print("SUMMARY|route|small instances (6-10 customers) at their exact optimum|%d of %d|all|%s"
              % (sum(1 for r in ratios[:nexact] if r <= 1 + 1e-9), nexact, "yes" if all(r <= 1 + 1e-9 for r in ratios[:nexact]) else "NO"))
    if nsol:
        sr = ratios[nexact:]
        print("SUMMARY|route|Solomon 100-customer instances: worst distance / best known|%.4f|<= 1.03|%s" % (max(sr), "yes" if max(sr) <= 1.03 else "NO"))
    elif only in (None, "solomon"):
        print("SUMMARY|route|Solomon 100-customer instances: distance / best known|not measured (no instance file with a reference)|<= 1.03|-")
    print("SUMMARY|route|answers infeasible or serving fewer than the optimum|%d|0|%s" % (bad, "yes" if bad == 0 else "NO"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
