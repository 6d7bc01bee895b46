#!/usr/bin/env bash
# test/fuzz/sqlsmith.sh: random SQL (Debian's sqlsmith) against a database
# with repairsys and the demo data (test/demo.sql and repairsys.demo_load), on a throwaway cluster (test/lib.sh;
# honours REPAIRSYS_PG_ROOT).  On demand, not part of test/run.sh:
#   bash test/fuzz/sqlsmith.sh              # 600 s (the issue's 10 minutes)
#   REPAIRSYS_SQLSMITH_SECONDS=60 bash test/fuzz/sqlsmith.sh
# sqlsmith connects as role repairsys_smith, which holds repairsys_admin (every
# extension function and table) but is no superuser, so the random queries
# cannot call superuser-only functions (pg_terminate_backend, file access) that
# would end backends for reasons that are not ours.  Errors of the generated
# queries are expected (sqlsmith prints a summary); what fails the run is a
# server crash: a backend ended by a signal, or the postmaster gone.
# Exit status 0 when the server survived, 1 otherwise.
set -u
. "$(dirname "$0")/../lib.sh"
secs=${REPAIRSYS_SQLSMITH_SECONDS:-600}
seed=${REPAIRSYS_SQLSMITH_SEED:-42}
rs_ensure_packages
command -v sqlsmith >/dev/null || { rs_sudo apt-get install -y -q sqlsmith >/dev/null || rs_die "could not install sqlsmith"; }
rs_build_install
rs_start_cluster
cd "$RS_TOP"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE smith' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d smith -c 'CREATE EXTENSION repairsys' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d smith -f test/demo.sql >/dev/null 2>&1 || rs_die "the demo data did not load"
# and, where the reports piece provides it, a larger generated company
if [ "$(psql -X -At -d smith -c "SELECT to_regprocedure('repairsys.demo_load(integer, integer)') IS NOT NULL")" = t ]; then
	psql -X -q -v ON_ERROR_STOP=1 -d smith -c 'SELECT repairsys.demo_load(500, 42)' >/dev/null || rs_die "demo_load failed"
fi
psql -X -q -v ON_ERROR_STOP=1 -d smith <<'SQL' >/dev/null
CREATE ROLE repairsys_smith LOGIN IN ROLE repairsys_admin;
GRANT CONNECT ON DATABASE smith TO repairsys_smith;
ANALYZE;
SQL
pm_before=$(head -1 "$RS_TMP/data/postmaster.pid")
rows=$(psql -X -At -d smith -c "SELECT (SELECT count(*) FROM repairsys.ticket) || ' tickets, ' || (SELECT count(*) FROM repairsys.ticket_event) || ' events, ' || (SELECT count(*) FROM repairsys.stock_movement) || ' ledger rows, ' || (SELECT count(*) FROM repairsys.invoice) || ' invoices'")
rs_log "sqlsmith for $secs s (seed $seed) against $rows"
log=$RS_TMP/sqlsmith.log
timeout -s INT -k 10 "$secs" sqlsmith --verbose --seed="$seed" --exclude-catalog \
	--target="host=$PGHOST port=$PGPORT user=repairsys_smith dbname=smith" >"$log" 2>&1
rc=$?
# sqlsmith's last statistics report (queries, errors by kind)
tail -c 3000 "$log" | tr '\r' '\n' | grep -E 'queries:|^[0-9]+\s' | tail -12
queries=$(tr '\r' '\n' <"$log" | grep -Eo 'queries: [0-9]+' | tail -1 | grep -Eo '[0-9]+')
fail=0
if grep -Eq 'terminated by signal|was terminated by exception|terminating any other active server processes' "$RS_TMP/data/server.log"; then
	echo "CRASH: the server log reports a backend ended abnormally:"
	grep -E -B3 'terminated by signal|terminated by exception' "$RS_TMP/data/server.log" | head -40
	fail=1
fi
pm_after=$(head -1 "$RS_TMP/data/postmaster.pid" 2>/dev/null)
if [ "$pm_before" != "$pm_after" ] || ! psql -X -At -d smith -c 'SELECT 1' >/dev/null 2>&1; then
	echo "CRASH: the server is not the one that started (postmaster $pm_before, now ${pm_after:-none})"
	fail=1
fi
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 130 ]; then
	echo "sqlsmith ended with status $rc:"; tail -20 "$log"
fi
echo "sqlsmith: ${queries:-?} queries in $secs s, server $([ $fail = 0 ] && echo alive, no backend crashed || echo CRASHED)"
exit $fail
