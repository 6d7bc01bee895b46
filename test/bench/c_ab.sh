#!/usr/bin/env bash
# Benchmark of a C change: the C functions of another revision's build (by
# default main) against this tree's, side by side in one backend on one data
# set (test/bench/c_ab.sql): candidates() over 10,000 technicians (the data
# of test/bench/assign.sql), sla_deadline() and sla_elapsed() over 20,000
# cases with closed and open days, and the comparison functions of fee_tier
# and sla_interval over 1,000,000 pairs of stored values.  Both builds are
# first checked to give the same results; each figure is the median over 20
# alternating rounds of base time / new time (above 1: this tree is faster).
# Starts a throwaway cluster (test/lib.sh; honours REPAIRSYS_PG_ROOT).
#   bash test/bench/c_ab.sh [REV]      e.g. bash test/bench/c_ab.sh 736e2cf
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
rev=${1:-main}
rs_ensure_packages
base=$(mktemp -d /tmp/repairsys-ab.XXXXXX)
trap 'rm -rf "$base"; rs_stop_cluster' EXIT
git -C "$RS_TOP" archive "$rev" | tar -x -C "$base" || rs_die "git archive $rev failed"
( cd "$base" && make -s PG_CONFIG="$RS_PG_CONFIG" COPT=-Werror ) >"$base/build.log" 2>&1 \
	|| { cat "$base/build.log" >&2; rs_die "the build of $rev failed"; }
rs_build_install
rs_start_cluster
cp "$base/repairsys.so" "$RS_TMP/base_repairsys.so"
chmod 755 "$RS_TMP/base_repairsys.so"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_ab' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_ab -c 'CREATE EXTENSION repairsys' >/dev/null
sed -n '1,/^ANALYZE;/p' "$RS_TOP/test/bench/assign.sql" | psql -X -q -v ON_ERROR_STOP=1 -v ntech=10000 -d repairsys_ab >/dev/null
echo "base: $rev ($(git -C "$RS_TOP" rev-parse --short "$rev")); new: this tree ($(git -C "$RS_TOP" rev-parse --short HEAD)$(git -C "$RS_TOP" diff --quiet HEAD -- src || echo ', with changes')); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
psql -X -q -v ON_ERROR_STOP=1 -P pager=off -v base="$RS_TMP/base_repairsys.so" -v rev="$rev" -d repairsys_ab -f "$RS_TOP/test/bench/c_ab.sql"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
