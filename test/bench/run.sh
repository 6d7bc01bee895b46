#!/usr/bin/env bash
# test/bench/run.sh: runs benchmarks on a throwaway cluster (test/lib.sh;
# honours REPAIRSYS_PG_ROOT).  Each test/bench/NAME.sql prints its figures and
# the ratios it measured side by side in one run; none is a timed test.
# Usage: bash test/bench/run.sh [NAME ...]   (default: every test/bench/*.sql)
set -u
. "$(dirname "$0")/../lib.sh"
rs_ensure_packages
rs_build_install
rs_start_cluster
cd "$RS_TOP"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=($(ls test/bench/*.sql | xargs -n1 basename | sed 's/\.sql$//'))
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r); $(psql -X -At -d postgres -c 'SELECT version()')"
for b in "${names[@]}"; do
	echo
	echo "################ $b"
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS bench_$b" -c "CREATE DATABASE bench_$b" >/dev/null 2>&1
	psql -X -q -v ON_ERROR_STOP=1 -d "bench_$b" -c 'CREATE EXTENSION repairsys' >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -P pager=off -d "bench_$b" -f "test/bench/$b.sql" || echo "benchmark $b FAILED"
done
