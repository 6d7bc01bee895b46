#!/usr/bin/env bash
# The C code that reads tables and arrays through SPI and executor slots runs
# under valgrind memcheck, in a single-user backend of its own
# (test/fuzz/valgrind.sh): the life-cycle triggers (src/lifecycle.c),
# candidates() and the batch (src/scoring_spi.c, src/scoring.c, src/assign.c), forecast_demand
# (src/forecast.c), route_solve on random instances and bad input
# (src/route.c).  Memory-context bugs that the regress suite cannot see (a
# buffer allocated in the executor's per-query memory and read after the query
# ended still holds its bytes) make valgrind report thousands of errors.
# The parsers' valgrind runs (fee_tier, sla_interval) stay on demand: their
# fuzz tests above already feed 100,000 inputs each through the server.
set -u
. "$RS_TOP/test/tap.sh"
for mode in lifecycle assign forecast route; do
	out=$(REPAIRSYS_VALGRIND_INSTALLED=1 bash "$RS_TOP/test/fuzz/valgrind.sh" "$mode" 2>&1)
	rc=$?
	summary=$(echo "$out" | grep 'ERROR SUMMARY' | sed 's/^==[0-9]*== //')
	if [ "$rc" = 0 ] && echo "$summary" | grep -q '^ERROR SUMMARY: 0 errors'; then
		ok 0 "valgrind $mode: $summary"
	else
		ok 1 "valgrind $mode (exit $rc)" "$(echo "$out" | tail -5)"
	fi
done
