#!/usr/bin/env bash
# Benchmark of customer_profile's roll-up (customer_rollup, docs/reports.md
# "Customer profile"): on a throwaway cluster, the demo company of
# demo_load(tickets, 7, 36) with its churn model fitted, one center's profile
# through the roll-up and through the old definition, side by side
# (test/bench/customer_profile.sql), and the rows compared.
# Usage: bash test/bench/customer_profile.sh [tickets]   (default 200,000)
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured
n=${1:-200000}
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql -X -At -d postgres -c 'SHOW server_version')"
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c "SET client_min_messages = warning" -c "SELECT repairsys.demo_load($n, 7, 36)" \
	-c "SELECT 1 FROM repairsys.refit_churn_model(now(), '90 days')" -c "VACUUM ANALYZE" >/dev/null || exit 1
echo "demo_load($n, 7, 36) and the churn model: $(( $(date +%s) - start )) s"
cd "$RS_TOP" && psql -X -v ON_ERROR_STOP=1 -d repairsys_bench -f test/bench/customer_profile.sql
