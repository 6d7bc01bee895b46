#!/usr/bin/env bash
# test/bench/run.sh: the one benchmark command (not part of the test command).
# Runs every benchmark on throwaway clusters (test/lib.sh; honours
# REPAIRSYS_PG_ROOT); each prints its figures and the ratios it measured side
# by side in one run (C against its PL/pgSQL reference, cross-checked for
# equal results; the life-cycle trigger against the application doing the
# work itself; one bill against a primary-key lookup), at 10% and 100% of its
# data set where the size matters.  None is a timed test.
#   bash test/bench/run.sh            # everything (about 15-25 min on 2 cores)
#   bash test/bench/run.sh NAME ...   # test/bench/NAME.sh when it exists, else NAME.sql
# A NAME.sh builds its own data set on its own cluster (lifecycle: 1,000,000
# tickets with history and 10,000 technicians; assign: 10,000 technicians;
# security; lap: seeded score matrices solved by repairsys and by scipy
# side by side; c_ab: the C functions of main's build against this tree's, in
# one backend); a NAME.sql without a NAME.sh runs in a fresh database of one
# shared cluster (parts: 2,000 parts x 10 centers with a year of ledger).
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
cd "$RS_TOP"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in test/bench/*.sql; do b=$(basename "$f" .sql); [ -e "test/bench/$b.sh" ] || names+=("$b"); done
	# (scale takes hours at its default size: it runs only by name)
	for f in test/bench/*.sh; do b=$(basename "$f" .sh); [ "$b" = run ] || [ "$b" = scale ] || names+=("$b"); done
fi
rs_ensure_packages
rs_build_install
echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
begin=$(date +%s)
log=$(mktemp /tmp/repairsys-bench.XXXXXX)
for b in "${names[@]}"; do
	echo
	echo "################ $b ($(date -u +%H:%M:%S) UTC)"
	if [ -e "test/bench/$b.sh" ]; then
		{ bash "test/bench/$b.sh" 2>&1 || echo "SUMMARY|$b|benchmark FAILED|-|-|NO"; } | grep -v '^== ' | tee -a "$log" | grep -v '^SUMMARY|'
		continue
	fi
	[ -n "${RS_TMP:-}" ] || rs_start_cluster
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_$b" -c "CREATE DATABASE bench_$b" >/dev/null 2>&1
	psql -X -q -v ON_ERROR_STOP=1 -d "bench_$b" -c 'CREATE EXTENSION repairsys' >/dev/null
	{ psql -X -q -v ON_ERROR_STOP=1 -P pager=off -d "bench_$b" -f "test/bench/$b.sql" 2>&1 || echo "SUMMARY|$b|benchmark FAILED|-|-|NO"; } \
		| tee -a "$log" | grep -v '^SUMMARY|'
done
echo
echo "all benchmarks: $(( $(date +%s) - begin )) s; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# The table of every figure, measured side by side in this run (each
# benchmark prints its own lines SUMMARY|bench|figure|result|target|met).
echo
echo "SUMMARY (each ratio measured side by side in this run)"
grep '^SUMMARY|' "$log" | python3 -c '
import sys
rows = [l.rstrip("\n").split("|")[1:] for l in sys.stdin]
head = ["bench", "figure", "result", "target", "met"]
rows = [head] + [r + [""] * (5 - len(r)) for r in rows]
w = [max(len(r[i]) for r in rows) for i in range(5)]
for k, r in enumerate(rows):
    print(" | ".join(r[i].ljust(w[i]) for i in range(5)))
    if k == 0:
        print("-+-".join("-" * w[i] for i in range(5)))
'
rm -f "$log"
