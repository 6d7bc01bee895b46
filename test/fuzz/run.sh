#!/usr/bin/env bash
# test/fuzz/run.sh: the long fuzz run, on demand (not part of test/run.sh).
# Feeds 100,000 mutated strings to each type's input function (fee_tier,
# sla_interval), then the type's kernels on the seed values, in a single-user
# backend under valgrind memcheck (test/fuzz/valgrind.sh), and stops at the
# first type with a memory error.  About 5 to 10 minutes per type on 2 cores.
#   REPAIRSYS_PG_ROOT=/work/pg-x bash test/fuzz/run.sh
#   REPAIRSYS_FUZZ_INPUTS=20000 bash test/fuzz/run.sh fee_tier   # shorter, one type
# The short versions in the test command are test/t/fee_tier-fuzz.sh and
# test/t/sla_interval-fuzz.sh (100,000 inputs through a normal server, no
# valgrind).  Exit status: 0 when valgrind reported no error for any type.
set -u
here=$(dirname "$0")
export REPAIRSYS_FUZZ_INPUTS=${REPAIRSYS_FUZZ_INPUTS:-100000}
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(fee_tier sla_interval)
rc=0
for t in "${types[@]}"; do
	echo "== $t: $REPAIRSYS_FUZZ_INPUTS mutated inputs under valgrind memcheck"
	start=$(date +%s)
	bash "$here/valgrind.sh" "$t" || rc=$?
	echo "   $(( $(date +%s) - start )) s"
	[ $rc -eq 0 ] || { echo "$t: valgrind found errors (status $rc)"; exit $rc; }
done
exit 0
