#!/usr/bin/env bash
# Quality benchmark of repairsys.route_solve (issue 19 item 2): a benchmark,
# not a timed test.  Builds, starts a throwaway cluster (test/lib.sh; honours
# REPAIRSYS_PG_ROOT) and runs test/bench/route.py, which solves each instance
# with route_solve, re-checks every route independently of the solver and
# prints distance, reference (exact optimum, or best known), ratio, vehicles
# used and seconds per instance.
#   bash test/bench/route.sh [--limit-ms N] [--only exact|gen100|solomon]
# (default time limit 10000 ms per instance).  Exit status 1 when a route was
# infeasible or an exact instance served fewer customers than its optimum.
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(psql -X -At -d postgres -c 'SHOW server_version')"
rc=0
python3 "$RS_TOP/test/bench/route.py" "$@" || rc=$?
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $rc
