#!/usr/bin/env bash
# Benchmark of row-level security (docs/security.md): what the policies cost.
# Starts a throwaway cluster (test/lib.sh; honours REPAIRSYS_PG_ROOT), installs
# repairsys and runs test/bench/security.sql, which times each query as the
# role (policies applied) and as the owner with the same filter written by
# hand, side by side in one run, and prints the ratios.
# Usage: bash test/bench/security.sh [tickets] [technicians]
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
ntickets=${1:-20000}
ntech=${2:-100}
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -v ntickets="$ntickets" -v ntech="$ntech" -d repairsys_bench -f "$RS_TOP/test/bench/security.sql"
