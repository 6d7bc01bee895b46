#!/usr/bin/env bash
# Benchmark of automatic assignment (docs/assignment.md): starts a throwaway
# cluster (test/lib.sh; honours REPAIRSYS_PG_ROOT), installs repairsys and runs
# test/bench/assign.sql, which prints every figure and ratio measured side by
# side in one run.  Usage: bash test/bench/assign.sh [technicians] [batch sizes]
#   e.g. bash test/bench/assign.sh 10000 "200 500 1000"
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
ntech=${1:-10000}
sizes=${2:-"200 500 1000"}
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v ntech="$ntech" -v sizes="$sizes" -d repairsys_bench -f "$RS_TOP/test/bench/assign.sql"
