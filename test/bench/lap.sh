#!/usr/bin/env bash
# Benchmark of the batch solver against the best assignment solvers
# (docs/performance.md, DESIGN 15): repairsys.assignment_solve and
# scipy.optimize.linear_sum_assignment (Debian's python3-scipy, in
# /usr/bin/python3) on the same seeded random n x n matrices, side by side
# in one run: medians of RUNS timed calls each, the ratio per size, and an
# independent check that both optimal totals are equal.  A size N is an
# N x N matrix with capacities 1 (the target: at most 1.5x scipy's time);
# NcK is N rows and N/K columns of capacity K, which scipy solves with each
# column repeated K times (reported).  Starts a throwaway cluster
# (test/lib.sh; honours REPAIRSYS_PG_ROOT).
#   bash test/bench/lap.sh ["1000 2000 1000c2"] [RUNS]
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
sizes=${1:-"1000 2000 1000c2"}
runs=${2:-7}
py=/usr/bin/python3
if ! $py -c 'import scipy.optimize' 2>/dev/null; then
	rs_log "installing python3-scipy from Debian's packages"
	rs_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-scipy >/dev/null \
		|| rs_die "apt-get install python3-scipy failed"
fi
rs_ensure_packages
rs_build_install
rs_start_cluster
dir=$RS_TMP/lap
mkdir -p "$dir" && chmod 755 "$dir"
$py "$RS_TOP/test/bench/lap.py" gen "$dir" $sizes || rs_die "could not write the matrices"
chmod 644 "$dir"/*
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_lap' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_lap -c 'CREATE EXTENSION repairsys' >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for spec in $sizes; do
	n=${spec%%c*}
	k=1
	[ "$spec" = "$n" ] || k=${spec#*c}
	psql -X -q -v ON_ERROR_STOP=1 -P pager=off -v n="$n" -v k="$k" -v path="$dir/lap_$spec.txt" -v runs="$runs" \
		-v out="$dir/pg_$spec.out" -d repairsys_lap -f "$RS_TOP/test/bench/lap.sql" \
		|| { echo "SUMMARY|lap|assignment_solve $spec|benchmark FAILED|-|NO"; status=1; continue; }
	$py "$RS_TOP/test/bench/lap.py" check "$dir" "$spec" "$runs" "$dir/pg_$spec.out" || status=1
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
