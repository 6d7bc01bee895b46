#!/usr/bin/env bash
# Load test: pgbench, 8 clients, a mixed workload (open, assign, book and
# reschedule visits, start, reserve, resolve, pay and close) with a fixed seed; afterwards
# repairsys.check_invariants() must be empty.  Then the same with the
# postmaster killed (kill -9) in the middle of the run and restarted:
# check_invariants() still empty.  REPAIRSYS_LOAD_SECONDS sets the length
# (default 15 s; 60 s is the long version).
set -u
. "$RS_TOP/test/tap.sh"
secs=${REPAIRSYS_LOAD_SECONDS:-15}
load="$RS_TOP/test/load"
tap_db db
psql -X -q -v ON_ERROR_STOP=1 -d $db -f "$load/setup.sql" >/dev/null || diag "setup failed"
scripts="-f $load/open.sql@4 -f $load/assign.sql@3 -f $load/book.sql@2 -f $load/reschedule.sql@1 -f $load/start.sql@3 -f $load/reserve.sql@2 -f $load/resolve.sql@3 -f $load/pay.sql@3"

out=$(pgbench -n -c 8 -j 2 -T "$secs" --random-seed=20261122 $scripts $db 2>&1)
processed=$(printf '%s\n' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
failed=$(printf '%s\n' "$out" | grep -c 'aborted\|ERROR')
printf '%s\n' "$out" | grep -E '^(number of|tps|latency average)' | sed 's/^/# /'
[ "${processed:-0}" -gt 100 ] && [ "$failed" -eq 0 ]
ok $? "$processed transactions by 8 clients, none failed" "processed ${processed:-0}, $failed failures
$(printf '%s\n' "$out" | grep -E 'ERROR|aborted' | head -5)"
v=$(psql -X -At -d $db -c "SELECT count(*) FROM repairsys.check_invariants()")
[ "$v" = 0 ]
ok $? "check_invariants() is empty after the load" "$v violations"
[ "$v" = 0 ] || psql -X -d $db -c "SELECT * FROM repairsys.check_invariants() LIMIT 10" | sed 's/^/# /'
work=$(psql -X -At -d $db -c "SELECT count(*) FILTER (WHERE status = 'closed') || ' closed, ' || count(*) || ' tickets, ' || (SELECT count(*) FROM repairsys.payment) || ' payments' FROM repairsys.ticket")
closed=${work%% closed*}
[ "${closed:-0}" -gt 0 ]
ok $? "the workload went the whole way ($work)" "nothing was closed ($work)"
visits=$(psql -X -At -d $db -c "SELECT count(*) || ' visits booked, ' || count(*) FILTER (WHERE state = 'rescheduled') || ' of them rescheduled, ' || count(*) FILTER (WHERE state = 'cancelled') || ' cancelled' FROM repairsys.appointment")
[ "${visits%% visits*}" -gt 0 ]
ok $? "visits were booked under the load ($visits)" "no visit was booked ($visits)"

# the same, with the server killed in the middle
pgbench -n -c 8 -j 2 -T "$secs" --random-seed=20261123 $scripts $db >/dev/null 2>&1 &
bench=$!
sleep $(( secs / 2 ))
pid=$(head -1 "$RS_TMP/data/postmaster.pid")
kill -9 "$pid"
wait $bench 2>/dev/null
sleep 1
# the orphaned backends notice the postmaster's death and exit; until they
# have, the old shared memory is in use and a new postmaster refuses to start
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo runuser -u postgres -- "$@"; fi; }
for _ in $(seq 1 60); do
	as_pg "$RS_BINDIR/pg_ctl" -D "$RS_TMP/data" -l "$RS_TMP/data/server.log" -w -t 60 start >/dev/null 2>&1 && break
	sleep 1
done
alive=$(psql -X -At -d $db -c "SELECT 1" 2>/dev/null)
[ "$alive" = 1 ]
ok $? "the server came back after kill -9 of the postmaster (pid $pid)" "the server did not come back"
v=$(psql -X -At -d $db -c "SELECT count(*) FROM repairsys.check_invariants()")
[ "$v" = 0 ]
ok $? "check_invariants() is empty after the crash and recovery" "$v violations"
[ "$v" = 0 ] || psql -X -d $db -c "SELECT * FROM repairsys.check_invariants() LIMIT 10" | sed 's/^/# /'
out=$(pgbench -n -c 4 -j 2 -t 50 --random-seed=20261124 $scripts $db 2>&1)
failed=$(printf '%s\n' "$out" | grep -c 'aborted\|ERROR')
v=$(psql -X -At -d $db -c "SELECT count(*) FROM repairsys.check_invariants()")
[ "$failed" -eq 0 ] && [ "$v" = 0 ]
ok $? "work goes on after recovery, invariants hold" "$failed failures, $v violations after recovery"
