#!/usr/bin/env bash
# Benchmark of time-aware dispatch (docs/dispatch.md): starts a throwaway
# cluster (test/lib.sh; honours REPAIRSYS_PG_ROOT), installs repairsys and runs
# test/bench/slots.sql, which prints every figure and ratio measured side by
# side in one run (not a timed test: nothing fails on a slow machine).
# Usage: bash test/bench/slots.sh [technicians] [calls]
#   e.g. bash test/bench/slots.sh 200 20
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
ntech=${1:-200}
calls=${2:-20}
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores, load average before: $(cut -d" " -f1-3 /proc/loadavg)"
psql -X -q -v ON_ERROR_STOP=1 -v ntech="$ntech" -v calls="$calls" -d repairsys_bench -f "$RS_TOP/test/bench/slots.sql"
